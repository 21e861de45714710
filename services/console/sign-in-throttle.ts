/**
 * @module
 * Guessing secrets is slow anyway (scrypt per try); this makes it pointless without letting a stranger lock
 * out a real operator. Failures are counted per (name, client address): after `freeTries` failures that pair
 * is refused for `baseBlockMs`, doubling with each further failure up to `maxBlockMs`; an operator signing
 * in from another address is not held up. A pair is forgotten after a quiet `maxBlockMs` past its last block
 * (or failure); at `maxEntries` the oldest non-blocking pair makes room, and a blocking one is never evicted
 * (when all are blocking, a new pair's failures go untracked: each still costs its scrypt). Kept in memory,
 * per replica.
 */
export interface ThrottleOptions {
  freeTries?: number;
  baseBlockMs?: number;
  maxBlockMs?: number;
  maxEntries?: number;
}

interface Entry {
  failures: number;
  last: number;
  blockedUntil: number;
}

export class SignInThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly freeTries: number;
  private readonly baseBlockMs: number;
  private readonly maxBlockMs: number;
  private readonly maxEntries: number;

  constructor(o: ThrottleOptions = {}) {
    this.freeTries = o.freeTries ?? 5;
    this.baseBlockMs = o.baseBlockMs ?? 30_000;
    this.maxBlockMs = o.maxBlockMs ?? 15 * 60_000;
    this.maxEntries = o.maxEntries ?? 10_000;
  }

  /** ms until `name` may try again from `address`, or 0 */
  blockedFor(name: string, address: string, now = Date.now()): number {
    const e = this.live(key(name, address), now);
    return e ? Math.max(0, e.blockedUntil - now) : 0;
  }

  failed(name: string, address: string, now = Date.now()): void {
    const k = key(name, address);
    const e = this.live(k, now) ?? { failures: 0, last: now, blockedUntil: 0 };
    e.failures++;
    e.last = now;
    if (e.failures >= this.freeTries)
      e.blockedUntil = now + Math.min(this.maxBlockMs, this.baseBlockMs * 2 ** (e.failures - this.freeTries));
    // Re-inserted, so the map's order is the order of last failures: the first non-blocking is the oldest.
    this.entries.delete(k);
    if (this.entries.size >= this.maxEntries && !this.makeRoom(now)) return;
    this.entries.set(k, e);
  }

  succeeded(name: string, address: string): void {
    this.entries.delete(key(name, address));
  }

  get size(): number {
    return this.entries.size;
  }

  private live(k: string, now: number): Entry | undefined {
    const e = this.entries.get(k);
    // Forgotten only after a quiet `maxBlockMs` past its block, so waiting out a block does not reset the backoff.
    if (e && now >= Math.max(e.last, e.blockedUntil) + this.maxBlockMs) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  private makeRoom(now: number): boolean {
    for (const [k, e] of this.entries)
      if (e.blockedUntil <= now) {
        this.entries.delete(k);
        return true;
      }
    return false;
  }
}

function key(name: string, address: string): string {
  return `${name}\u0000${address}`;
}

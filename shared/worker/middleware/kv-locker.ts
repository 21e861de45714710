/**
 * @module
 * A lock shared by every worker through KV: one key per lock, holding the owner and its expiry (in the value:
 * 2.9.10 ignores per-key TTL). An expired lock is taken over with a revision-checked update; release deletes
 * only at the owner's revision, so a lock that expired and was taken over is never released by the old owner.
 */
import { randomBytes } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { keys } from "../../protocol/names.ts";
import { isRevisionConflict } from "../../nats/kv.ts";

export interface Lock {
  release(): Promise<void>;
}

export type LockResult = { acquired: true; lock: Lock } | { acquired: false; retryAfterMs: number };

/** The Go `bus` package's `Locker` interface, in TypeScript. `retryAfterMs` is how long the current holder may still keep it. */
export interface Locker {
  acquire(key: string, ttlMs: number): Promise<LockResult>;
}

interface LockValue {
  owner: string;
  expires_at: number;
}

export class KvLocker implements Locker {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(key: string, ttlMs: number): Promise<LockResult> {
    if (!(ttlMs >= 1)) throw new RangeError("withoutOverlapping needs ttlMs >= 1");
    const k = keys.lock(key);
    const owner = randomBytes(8).toString("hex");
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = this.now();
      const e = await this.kv.get(k);
      if (e && e.operation === "PUT") {
        const held = e.json<LockValue>();
        if (held.expires_at > now) return { acquired: false, retryAfterMs: held.expires_at - now };
      }
      const value = JSON.stringify({ owner, expires_at: now + ttlMs } satisfies LockValue);
      try {
        const revision = e ? await this.kv.update(k, value, e.revision) : await this.kv.create(k, value);
        return { acquired: true, lock: { release: () => this.release(k, revision) } };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    return { acquired: false, retryAfterMs: 50 };
  }

  private async release(k: string, revision: number): Promise<void> {
    try {
      await this.kv.purge(k, { previousSeq: revision });
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
  }
}

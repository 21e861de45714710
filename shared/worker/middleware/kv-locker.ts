/**
 * @module
 * A lock shared by every worker through KV: one key per lock holding its owner, written with a server TTL so
 * a lock whose holder died (SIGKILL, a lost node) frees itself with no sweep.
 *
 * The server's TTL acts in whole seconds (rounded up), so the value keeps the exact `expires_at`: a lock of
 * 300 ms is free after 300 ms although its key lives on for up to a second, and is then taken over with a
 * compare-and-set at its revision. Release purges only at the owner's revision, so a lock that expired and was
 * taken over is never released by the old owner.
 */
import { randomBytes } from "node:crypto";
import { ErrorCodes } from "../../protocol/error-codes.ts";
import { JetbusError, ReleaseError } from "../../protocol/errors.ts";
import { keys } from "../../protocol/names.ts";
import { isRevisionConflict } from "../../nats/kv.ts";
import type { TtlBucket } from "../../nats/kv-ttl.ts";
import { KEY_TTL_MAX_MS } from "../../nats/topology.ts";

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

/** How long a job waits before trying again while its bucket lacks TTL support (an operator must act). */
export const OUTDATED_RETRY_MS = 10_000;

/**
 * A bucket made by an older jetbus cannot take TTL keys: the job is put back (no attempt used) until
 * `jetbus init --apply` has run, rather than failing jobs for an operator's missing step.
 */
export function releaseIfOutdated(err: unknown): unknown {
  if (err instanceof JetbusError && err.code === ErrorCodes.TopologyOutdated)
    return new ReleaseError(OUTDATED_RETRY_MS, err.message, err.code);
  return err;
}

function expiresAt(read: () => LockValue): number {
  try {
    const v = read();
    return typeof v?.expires_at === "number" ? v.expires_at : 0;
  } catch {
    return 0;
  }
}

export class KvLocker implements Locker {
  constructor(
    private readonly bucket: TtlBucket,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(key: string, ttlMs: number): Promise<LockResult> {
    if (!(ttlMs >= 1) || ttlMs > KEY_TTL_MAX_MS)
      throw new RangeError(`withoutOverlapping needs 1 <= ttlMs <= ${KEY_TTL_MAX_MS}`);
    const k = keys.lock(key);
    const owner = randomBytes(8).toString("hex");
    try {
      for (let attempt = 0; attempt < 50; attempt++) {
        const now = this.now();
        const e = await this.bucket.get(k);
        // An unreadable value counts as expired: it is taken over rather than blocking the key for good.
        const until = e?.operation === "PUT" ? expiresAt(() => e.json<LockValue>()) : 0;
        if (until > now) return { acquired: false, retryAfterMs: until - now };
        const value = JSON.stringify({ owner, expires_at: now + ttlMs } satisfies LockValue);
        try {
          const revision = await this.bucket.write(k, value, e?.revision ?? 0, ttlMs);
          return { acquired: true, lock: { release: () => this.bucket.release(k, revision) } };
        } catch (err) {
          if (!isRevisionConflict(err)) throw err;
        }
      }
    } catch (err) {
      throw releaseIfOutdated(err);
    }
    return { acquired: false, retryAfterMs: 50 };
  }
}

/**
 * @module
 * A fixed-window rate limiter shared by every worker through KV: one key per (limit key, window), so a new
 * window starts from zero without any reset and no key is shared between windows. Counting is a
 * compare-and-set whose server TTL outlives the window's end by a second (the TTL acts in whole seconds), so
 * a window's key vanishes by itself once it can no longer be counted in; the key names its window, so the
 * value needs no expiry of its own.
 */
import { keys } from "../../protocol/names.ts";
import { isRevisionConflict } from "../../nats/kv.ts";
import type { TtlBucket } from "../../nats/kv-ttl.ts";
import { KEY_TTL_MAX_MS } from "../../nats/topology.ts";
import { releaseIfOutdated } from "./kv-locker.ts";

export interface RateDecision {
  allowed: boolean;
  /** when not allowed: how long until a slot frees */
  retryAfterMs: number;
}

/** The Go `bus` package's `RateLimiter` interface, in TypeScript: plug in your own (Redis, an API quota...). */
export interface RateLimiter {
  allow(key: string): Promise<RateDecision>;
}

interface WindowValue {
  count: number;
}

function countOf(read: () => WindowValue): number {
  try {
    const n = read().count;
    return Number.isInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

export class KvRateLimiter implements RateLimiter {
  constructor(
    private readonly bucket: TtlBucket,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit >= 1) || !(windowMs >= 1) || windowMs > KEY_TTL_MAX_MS)
      throw new RangeError(`rateLimit needs limit >= 1 and 1 <= windowMs <= ${KEY_TTL_MAX_MS}`);
  }

  async allow(key: string): Promise<RateDecision> {
    try {
      return await this.count(key);
    } catch (err) {
      throw releaseIfOutdated(err);
    }
  }

  private async count(key: string): Promise<RateDecision> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = this.now();
      const window = Math.floor(now / this.windowMs);
      const end = (window + 1) * this.windowMs;
      const k = keys.limit(key, window);
      const e = await this.bucket.get(k);
      const count = e?.operation === "PUT" ? countOf(() => e.json<WindowValue>()) : 0;
      if (count >= this.limit) return { allowed: false, retryAfterMs: Math.max(1, end - now) };
      const value = JSON.stringify({ count: count + 1 } satisfies WindowValue);
      try {
        // The key must outlive its window: a key that vanished early would let the window count from zero.
        await this.bucket.write(k, value, e?.revision ?? 0, end - now + 1_000);
        return { allowed: true, retryAfterMs: 0 };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    // Heavy contention on one window: tell the job to come back shortly rather than spin.
    return { allowed: false, retryAfterMs: 50 };
  }
}

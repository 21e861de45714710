/**
 * @module
 * A fixed-window rate limiter shared by every worker through KV: one key per (limit key, window), so a new
 * window starts from zero without any reset and no key is shared between windows. Counting is
 * revision-checked; the window's end travels in the value so the janitor can delete old windows
 * (2.9.10 has no per-key TTL).
 */
import type { KV } from "@nats-io/kv";
import { keys } from "../../protocol/names.ts";
import { isRevisionConflict } from "../../nats/kv.ts";

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
  expires_at: number;
}

export class KvRateLimiter implements RateLimiter {
  constructor(
    private readonly kv: KV,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit >= 1) || !(windowMs >= 1))
      throw new RangeError("rateLimit needs limit >= 1 and windowMs >= 1");
  }

  async allow(key: string): Promise<RateDecision> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = this.now();
      const window = Math.floor(now / this.windowMs);
      const end = (window + 1) * this.windowMs;
      const k = keys.limit(key, window);
      const e = await this.kv.get(k);
      const count = e && e.operation === "PUT" ? e.json<WindowValue>().count : 0;
      if (count >= this.limit) return { allowed: false, retryAfterMs: Math.max(1, end - now) };
      const value = JSON.stringify({ count: count + 1, expires_at: end } satisfies WindowValue);
      try {
        if (e) await this.kv.update(k, value, e.revision);
        else await this.kv.create(k, value);
        return { allowed: true, retryAfterMs: 0 };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    // Heavy contention on one window: tell the job to come back shortly rather than spin.
    return { allowed: false, retryAfterMs: 50 };
  }
}

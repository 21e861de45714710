import { JetbusError, RateLimitedError } from "../../protocol/errors.ts";
import { RUNTIME, type JobContext } from "../context.ts";
import type { Middleware } from "../middleware.ts";
import { KvRateLimiter, type RateLimiter } from "./kv-rate-limiter.ts";

export interface RateLimitOptions {
  /** the bucket to count in; defaults to the job type */
  key?: (ctx: JobContext) => string;
  /** jobs allowed per window (with the default KV limiter) */
  limit?: number;
  windowMs?: number;
  /** your own limiter instead of the shared KV one */
  limiter?: RateLimiter;
}

/**
 * At most `limit` jobs per `windowMs` per key, across every worker process. A job turned away is released
 * for the limiter's `retryAfter` without using up a retry.
 * @example bus.withMiddleware(rateLimit({ key: () => "smtp", limit: 100, windowMs: 60_000 }))
 */
export function rateLimit(opts: RateLimitOptions): Middleware {
  if (!opts.limiter && (opts.limit === undefined || opts.windowMs === undefined)) {
    throw new RangeError("rateLimit needs { limit, windowMs } or a custom { limiter }");
  }
  const perRuntime = new WeakMap<object, RateLimiter>();
  const limiterFor = (ctx: JobContext): RateLimiter => {
    if (opts.limiter) return opts.limiter;
    const rt = ctx[RUNTIME];
    if (!rt) throw new JetbusError("INTERNAL", "rateLimit without a limiter needs a connected bus");
    let l = perRuntime.get(rt);
    if (!l) perRuntime.set(rt, (l = new KvRateLimiter(rt.limits, opts.limit!, opts.windowMs!, rt.now)));
    return l;
  };
  return async function rateLimitMiddleware(ctx, next) {
    const key = opts.key?.(ctx) || ctx.jobType;
    const decision = await limiterFor(ctx).allow(key);
    if (!decision.allowed) throw new RateLimitedError(key, decision.retryAfterMs);
    return next();
  };
}

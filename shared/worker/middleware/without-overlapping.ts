import { JetbusError, OverlappingError } from "../../protocol/errors.ts";
import { RUNTIME, type JobContext } from "../context.ts";
import type { Middleware } from "../middleware.ts";
import { KvLocker, type Locker } from "./kv-locker.ts";

export interface WithoutOverlappingOptions {
  /** the lock to hold; defaults to the job type */
  key?: (ctx: JobContext) => string;
  /** how long the lock lives if its holder never releases it (a crashed worker) */
  ttlMs: number;
  locker?: Locker;
}

/**
 * One job per key at a time across every worker process. A job that finds the lock held is released for the
 * lock's remaining TTL without using up a retry; the lock is released after the handler, whatever it did.
 * @example bus.withMiddleware(withoutOverlapping({ key: (ctx) => `report:${ctx.bind<{ id: string }>().id}`, ttlMs: 60_000 }))
 */
export function withoutOverlapping(opts: WithoutOverlappingOptions): Middleware {
  const perRuntime = new WeakMap<object, Locker>();
  const lockerFor = (ctx: JobContext): Locker => {
    if (opts.locker) return opts.locker;
    const rt = ctx[RUNTIME];
    if (!rt) throw new JetbusError("INTERNAL", "withoutOverlapping without a locker needs a connected bus");
    let l = perRuntime.get(rt);
    if (!l) perRuntime.set(rt, (l = new KvLocker(rt.locks, rt.now)));
    return l;
  };
  return async function withoutOverlappingMiddleware(ctx, next) {
    const key = opts.key?.(ctx) || ctx.jobType;
    const r = await lockerFor(ctx).acquire(key, opts.ttlMs);
    if (!r.acquired) throw new OverlappingError(key, r.retryAfterMs);
    try {
      return await next();
    } finally {
      await r.lock.release().catch((err: unknown) => ctx.log.warn({ err, key }, "could not release lock"));
    }
  };
}

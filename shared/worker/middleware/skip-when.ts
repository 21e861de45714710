import type { JobContext } from "../context.ts";
import type { Middleware } from "../middleware.ts";

/**
 * Skips the handler when `predicate` is true; the job counts as succeeded (a chain advances, a batch counts it).
 * @example bus.withMiddleware(skipWhen((ctx) => ctx.jobType === "health:ping"))
 */
export function skipWhen(predicate: (ctx: JobContext) => boolean | Promise<boolean>): Middleware {
  return async function skipWhenMiddleware(ctx, next) {
    if (await predicate(ctx)) {
      ctx.log.debug({ type: ctx.jobType }, "skipped by skipWhen");
      return undefined;
    }
    return next();
  };
}

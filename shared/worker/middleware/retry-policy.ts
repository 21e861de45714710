import type { Middleware } from "../middleware.ts";

/**
 * Pass-through, as in the Go `bus` package: retries are owned by the job's `retry` and `backoff` options and the worker.
 * Kept so code ported from that package reads the same.
 */
export function retryPolicy(): Middleware {
  return function retryPolicyMiddleware(_ctx, next) {
    return next();
  };
}

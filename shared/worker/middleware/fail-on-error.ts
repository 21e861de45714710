import { describeThrown, PermanentError, ReleaseError } from "../../protocol/errors.ts";
import type { Middleware } from "../middleware.ts";

/**
 * Makes matching handler errors permanent, so retries stop at once (`FailOnError` in the Go `bus` package).
 * Without `when`, every error is permanent.
 * @example bus.withMiddleware(failOnError((err) => err instanceof TypeError))
 */
export function failOnError(when?: (err: unknown) => boolean): Middleware {
  return async function failOnErrorMiddleware(_ctx, next) {
    try {
      return await next();
    } catch (err) {
      // A release (rate limit, overlap) is control flow, not a failure: it must keep not using an attempt.
      if (err instanceof PermanentError || err instanceof ReleaseError || (when && !when(err))) throw err;
      throw new PermanentError(`fatal bus error: ${describeThrown(err)}`, { cause: err });
    }
  };
}

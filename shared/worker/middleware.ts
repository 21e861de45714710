/**
 * @module
 * Middleware is a function `(ctx, next) => Promise<unknown>`; the first registered is outermost
 * (`m1-before, m2-before, handler, m2-after, m1-after`). `next()` returns what the handler returned.
 */
import type { JobContext } from "./context.ts";

export type Handler<R = unknown> = (ctx: JobContext) => R | Promise<R>;
export type Next = () => Promise<unknown>;
export type Middleware = (ctx: JobContext, next: Next) => Promise<unknown>;

export function compose(
  middleware: readonly Middleware[],
  handler: Handler,
): (ctx: JobContext) => Promise<unknown> {
  return (ctx) => {
    let last = -1;
    const dispatch = async (i: number): Promise<unknown> => {
      if (i <= last) throw new Error("next() called more than once in a middleware");
      last = i;
      const mw = middleware[i];
      if (!mw) return handler(ctx);
      return mw(ctx, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}

/**
 * @module
 * A context manager without asynchronous propagation, for the dispatcher and the coordinator. The SDK's
 * default (AsyncLocalStorage) puts a hook on every promise the process makes once any context is entered —
 * about 0.3 µs each, paid by every job, sampled or not. Those two services run no application code, and their
 * own code hands trace context on explicitly (the deciding span's fields go with the work it makes), so a
 * context that lasts for the synchronous part of `context.with` is all they need. Workers keep the default:
 * an application's handler expects its job's span to stay active across its awaits.
 */
import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const run = (self: unknown, args: unknown[]) => this.with(context, () => fn.apply(self, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

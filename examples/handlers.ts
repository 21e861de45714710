/**
 * @module
 * Example handlers, loaded by the worker service (`JETBUS_HANDLERS=./examples/handlers.ts`) and by
 * `npm start`'s demo. A handler module exports a function that registers types (or a map type → handler).
 */
import { PermanentError, type JobContext } from "../shared/index.ts";
import type { Registrar } from "../services/worker/load-handlers.ts";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    });
  });

export default function register(r: Registrar): void {
  r.register("demo:hello", (ctx: JobContext) => {
    const payload = ctx.bind<{ name?: string } | null>();
    return { greeting: `hello, ${payload?.name ?? "world"}` };
  });

  // Fails on its first two attempts: dispatch it with .retry(2) or more to see it succeed.
  r.register("demo:flaky", (ctx) => {
    if (ctx.attempt < 2) throw new Error(`flaky failure on attempt ${ctx.attempt}`);
    return { attempts: ctx.attempt + 1 };
  });

  r.register("demo:fail", () => {
    throw new PermanentError("this job always fails");
  });

  r.register("demo:sleep", async (ctx) => {
    const ms = ctx.bind<{ ms?: number } | null>()?.ms ?? 100;
    await sleep(ms, ctx.signal);
    return { slept: ms };
  });

  r.register("demo:step", (ctx) => ({ step: ctx.bind<{ step: number }>().step }));

  // Callbacks are jobs too: they see the workflow's state (and, for catch, the error).
  const report = (ctx: JobContext) => {
    const w = ctx.workflow;
    ctx.log.info(
      { callback: ctx.callback, workflow: w, error: ctx.error?.message },
      `${ctx.callback} callback for ${w?.kind} ${w?.kind === "chain" ? w.chainId : w?.batchId}`,
    );
    return { callback: ctx.callback, error: ctx.error?.message };
  };
  for (const t of ["demo:then", "demo:catch", "demo:finally", "demo:progress"]) r.register(t, report);
}

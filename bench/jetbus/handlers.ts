/**
 * @module
 * The bench's handler module for the worker service (`JETBUS_HANDLERS=bench/jetbus/handlers.ts`): no-op jobs,
 * a no-op callback type (P3/P5's `.finally`), and `bench:flaky`, which fails on attempts 0 and 1 and succeeds
 * on attempt 2 (P6).
 */
import type { Registrar } from "../../services/worker/load-handlers.ts";

export const BenchTypes = {
  noop: "bench:noop",
  callback: "bench:noop-cb",
  flaky: "bench:flaky",
} as const;

export default function register(r: Registrar): void {
  r.register(BenchTypes.noop, () => undefined);
  r.register(BenchTypes.callback, () => undefined);
  r.register(BenchTypes.flaky, (ctx) => {
    if (ctx.attempt < 2) throw new Error(`planned failure on attempt ${ctx.attempt}`);
    return undefined;
  });
}

/**
 * @module
 * Handler modules for the worker service. A module's default export is either a map of job type → handler, or
 * a function that receives a registrar (`register(type, handler, opts)`, `use(...middleware)`); it may also
 * export `middleware`. The same module works with `bus.register` in your own process.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { JetbusError } from "../../shared/protocol/errors.ts";
import type { Handler, Middleware } from "../../shared/worker/middleware.ts";
import type { RegisterOptions } from "../../shared/worker/worker-host.ts";

export interface Registrar {
  register(type: string, handler: Handler, opts?: RegisterOptions): void;
  use(...middleware: Middleware[]): void;
}

export type HandlerModule =
  | { default: Record<string, Handler>; middleware?: Middleware[] }
  | { default: (r: Registrar) => void | Promise<void>; middleware?: Middleware[] };

export async function loadHandlers(paths: string[], into: Registrar): Promise<void> {
  for (const p of paths) {
    const url = pathToFileURL(resolve(process.cwd(), p)).href;
    let mod: HandlerModule;
    try {
      mod = (await import(url)) as HandlerModule;
    } catch (err) {
      throw new JetbusError("CONFIG", `could not load handler module ${p}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (mod.middleware) into.use(...mod.middleware);
    const def = mod.default as unknown;
    if (typeof def === "function") await (def as (r: Registrar) => void | Promise<void>)(into);
    else if (def && typeof def === "object")
      for (const [type, h] of Object.entries(def as Record<string, Handler>)) into.register(type, h);
    else
      throw new JetbusError(
        "CONFIG",
        `handler module ${p} must export default a map of type → handler, or a function(registrar)`,
      );
  }
}

/**
 * @module
 * Child side of {@link BenchChild}: `serve()` answers the parent's commands and, on `{type: "exit"}`, closes
 * what the child opened, reports its own peak RSS and exits. Any uncaught error is sent to the parent so the
 * run fails loudly instead of waiting for a message that never comes.
 */
import { selfPeakRssMb } from "./rss.ts";

export type ChildMessage = { type: string } & Record<string, unknown>;

type Handler = (msg: ChildMessage) => Promise<ChildMessage | void> | ChildMessage | void;

export function send(msg: ChildMessage): void {
  process.send?.(msg);
}

function failAndExit(err: unknown): void {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`[bench child ${process.pid}] ${message}\n`);
  if (process.send) process.send({ type: "error", message }, () => process.exit(1));
  else process.exit(1);
}

/** Starts answering commands, then tells the parent this child is ready. */
export function serve(handlers: Record<string, Handler>, onExit: () => Promise<void>): void {
  if (!process.send) throw new Error("a bench child must be started by bench/lib/child.ts (no IPC channel)");
  process.on("uncaughtException", failAndExit);
  process.on("unhandledRejection", failAndExit);
  // The runner died (or was interrupted): do not linger holding connections and queues.
  process.on("disconnect", () => process.exit(1));
  process.on("message", (msg: ChildMessage) => {
    if (msg.type === "exit") {
      void onExit()
        .catch((err: unknown) => process.stderr.write(`[bench child] close failed: ${String(err)}\n`))
        .finally(() => process.send?.({ type: "rss", maxRssMb: selfPeakRssMb() }, () => process.exit(0)));
      return;
    }
    const handler = handlers[msg.type];
    if (!handler) return failAndExit(new Error(`unknown command ${msg.type}`));
    void Promise.resolve()
      .then(() => handler(msg))
      .then((reply) => reply && send(reply), failAndExit);
  });
  send({ type: "ready" });
}

/** A numeric field of a parent's command; throws on anything else so a protocol slip fails loudly. */
export function numberField(msg: ChildMessage, key: string): number {
  const v = msg[key];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${msg.type}.${key} must be a number`);
  return v;
}

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

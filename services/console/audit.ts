/**
 * @module
 * Every operator action (replay, discard, cancel, pause, resume) is logged with the user's name and counted
 * (`jetbus_console_actions_total{action,user,outcome}`; operators are few, so the user label stays small).
 */
import { Counter } from "prom-client";
import type { Logger } from "../../shared/telemetry/logger.ts";

export const actionsTotal = new Counter({
  name: "jetbus_console_actions_total",
  help: "Operator actions taken in the console, by action, user and outcome",
  labelNames: ["action", "user", "outcome"] as const,
});

export type Action =
  | "replay"
  | "discard"
  | "replay_matching"
  | "discard_matching"
  | "cancel_batch"
  | "pause"
  | "resume"
  | "sign_in";

/** Runs `fn` as `user`'s `action` on `target`; logs and counts it whether it succeeds or fails. */
export async function audited<T>(
  log: Logger,
  user: string,
  action: Action,
  target: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    const out = await fn();
    actionsTotal.inc({ action, user, outcome: "ok" });
    log.info({ user, action, ...target }, "console action");
    return out;
  } catch (err) {
    actionsTotal.inc({ action, user, outcome: "error" });
    log.warn({ user, action, ...target, err: String(err) }, "console action failed");
    throw err;
  }
}

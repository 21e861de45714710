/**
 * @module
 * Fault injection for tests: `JETBUS_FAULT=coordinator:after-claim` (comma-separated) makes the process exit
 * the first time it reaches that point, so a test can hit each crash window on purpose instead of by chance.
 * Points: coordinator:after-claim (callback claimed, not yet published), coordinator:after-publish (effects
 * published, outcomes not acked), dispatcher:after-record (batch chunk recorded, members not published),
 * worker:after-outcome (outcome stored, job not acked).
 */
export type FaultPoint =
  | "coordinator:after-claim"
  | "coordinator:after-publish"
  | "dispatcher:after-record"
  | "worker:after-outcome";

const armed = new Set(
  (process.env.JETBUS_FAULT ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

export function faultPoint(point: FaultPoint): void {
  if (!armed.has(point)) return;
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: "fault injected", fault: point })}\n`);
  process.exit(137);
}

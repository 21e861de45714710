/**
 * @module
 * Job-level events derived from outcome entries (so events cost no stored message per job): each attempt
 * yields `job_started` and how it ended (`job_succeeded`, `job_retried`, or `job_failed` + `job_dead_lettered`);
 * callback jobs yield `callback_*` instead. Ids are deterministic per (job, attempt, kind).
 */
import type { BusEventWire, OutcomeEntry } from "../../shared/protocol/schemas.ts";

export function eventsFor(o: OutcomeEntry): BusEventWire[] {
  const common: Omit<BusEventWire, "id" | "kind" | "at"> = {
    dispatch_id: o.dispatch_id,
    job_id: o.job_id,
    type: o.type,
    queue: o.queue,
    attempt: o.attempt,
    ...(o.chain ? { chain_id: o.chain.id } : {}),
    ...(o.batch ? { batch_id: o.batch.id } : {}),
    ...(o.callback
      ? {
          callback: o.callback.kind,
          [o.callback.workflow === "chain" ? "chain_id" : "batch_id"]: o.callback.workflow_id,
        }
      : {}),
    ...(o.traceparent ? { traceparent: o.traceparent } : {}),
    ...(o.timing ? { timing: o.timing } : {}),
  };
  // A replayed dead letter runs again from attempt 0: its facts are new, so the replay count is in the id.
  const id = (kind: string) => `${o.job_id}.${kind}.${o.attempt}${o.replay ? `.r${o.replay}` : ""}`;
  const duration = { duration_ms: Math.max(0, o.finished_at - o.started_at) };
  const err = o.error ? { error: o.error } : {};
  if (o.status === "skipped") return [];
  if (o.callback) {
    const started: BusEventWire = {
      id: id("callback_started"),
      kind: "callback_started",
      at: o.started_at,
      ...common,
    };
    if (o.status === "succeeded")
      return [
        started,
        {
          id: id("callback_succeeded"),
          kind: "callback_succeeded",
          at: o.finished_at,
          ...common,
          ...duration,
        },
      ];
    // An attempt that will be retried is not a failed callback yet.
    if (o.status === "retried") {
      return [
        started,
        { id: id("job_retried"), kind: "job_retried", at: o.finished_at, ...common, ...duration, ...err },
      ];
    }
    return [
      started,
      {
        id: id("callback_failed"),
        kind: "callback_failed",
        at: o.finished_at,
        ...common,
        ...duration,
        ...err,
      },
    ];
  }
  const started: BusEventWire = { id: id("job_started"), kind: "job_started", at: o.started_at, ...common };
  switch (o.status) {
    case "succeeded":
      return [
        started,
        { id: id("job_succeeded"), kind: "job_succeeded", at: o.finished_at, ...common, ...duration },
      ];
    case "retried":
      return [
        started,
        { id: id("job_retried"), kind: "job_retried", at: o.finished_at, ...common, ...duration, ...err },
      ];
    case "failed":
      return [
        started,
        { id: id("job_failed"), kind: "job_failed", at: o.finished_at, ...common, ...duration, ...err },
        { id: id("job_dead_lettered"), kind: "job_dead_lettered", at: o.finished_at, ...common, ...err },
      ];
  }
}

/**
 * @module
 * Events from the facts they are derived from (event messages v2): a job's attempt yields `job_started` and how
 * it ended (`job_succeeded`, `job_retried`, or `job_failed` + `job_dead_lettered`; callback jobs the `callback_*`
 * kinds instead); an accepted dispatch yields `dispatch_started` and `dispatch_succeeded`. Ids are deterministic
 * per fact, so a fact stored twice is one event to an observer that drops repeated ids. Readers in any language
 * follow these rules (docs/protocol.md §5).
 */
import type { BusEventWire, DispatchFact, EventMessage, JobFact } from "./event.ts";

export function jobEvents(o: JobFact): BusEventWire[] {
  if (o.status === "skipped") return [];
  const common: Omit<BusEventWire, "id" | "kind" | "at"> = {
    dispatch_id: o.dispatch_id,
    job_id: o.job_id,
    type: o.type,
    queue: o.queue,
    attempt: o.attempt,
  };
  if (o.chain) common.chain_id = o.chain.id;
  if (o.batch) common.batch_id = o.batch.id;
  if (o.callback) {
    common.callback = o.callback.kind;
    common[o.callback.workflow === "chain" ? "chain_id" : "batch_id"] = o.callback.workflow_id;
  }
  if (o.traceparent) common.traceparent = o.traceparent;
  if (o.timing) common.timing = o.timing;
  // A replayed dead letter runs again from attempt 0: its facts are new, so the replay count is in the id.
  const suffix = `.${o.attempt}${o.replay ? `.r${o.replay}` : ""}`;
  const event = (
    kind: BusEventWire["kind"],
    at: number,
    extra: Partial<BusEventWire> = {},
  ): BusEventWire => ({
    id: `${o.job_id}.${kind}${suffix}`,
    kind,
    at,
    ...common,
    ...extra,
  });
  const ended = {
    duration_ms: Math.max(0, o.finished_at - o.started_at),
    ...(o.error ? { error: o.error } : {}),
  };
  const cb = !!o.callback;
  const started = event(cb ? "callback_started" : "job_started", o.started_at);
  switch (o.status) {
    case "succeeded":
      return [started, event(cb ? "callback_succeeded" : "job_succeeded", o.finished_at, ended)];
    case "retried":
      // An attempt that will be retried is not a failed callback yet.
      return [started, event("job_retried", o.finished_at, ended)];
    case "failed":
      if (cb) return [started, event("callback_failed", o.finished_at, ended)];
      return [
        started,
        event("job_failed", o.finished_at, ended),
        event("job_dead_lettered", o.finished_at, o.error ? { error: o.error } : {}),
      ];
  }
}

export function dispatchEvents(d: DispatchFact): BusEventWire[] {
  const common = {
    at: d.at,
    dispatch_id: d.dispatch_id,
    job_id: d.dispatch_id,
    type: d.type,
    queue: d.queue,
    ...(d.traceparent ? { traceparent: d.traceparent } : {}),
    ...(d.tracestate ? { tracestate: d.tracestate } : {}),
  };
  return [
    { id: `${d.dispatch_id}.dispatch_started`, kind: "dispatch_started", ...common },
    { id: `${d.dispatch_id}.dispatch_succeeded`, kind: "dispatch_succeeded", ...common },
  ];
}

/** Every event a stored event message stands for, in order. */
export function eventsOf(m: EventMessage): BusEventWire[] {
  if (m.v === 1) return m.events;
  const out: BusEventWire[] = [];
  for (const d of m.dispatched ?? []) out.push(...dispatchEvents(d));
  for (const j of m.jobs ?? []) out.push(...jobEvents(j));
  for (const e of m.events ?? []) out.push(e);
  return out;
}

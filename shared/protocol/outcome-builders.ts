/**
 * @module
 * Building outcome entries and result records from an envelope: one place, so the worker, the coordinator and
 * the orphan sweeper report the same shape.
 */
import type { ErrorBody, JobEnvelope, OutcomeEntry, ResultRecord } from "./schemas.ts";
import type { HopTiming } from "./timing.ts";

export interface AttemptReport {
  attempt: number;
  status: OutcomeEntry["status"];
  startedAt: number;
  finishedAt: number;
  result?: unknown;
  error?: ErrorBody;
  traceparent?: string;
  tracestate?: string;
  timing?: HopTiming;
}

export function outcomeEntry(env: JobEnvelope, r: AttemptReport): OutcomeEntry {
  const entry: OutcomeEntry = {
    job_id: env.job_id,
    dispatch_id: env.dispatch_id,
    type: env.type,
    queue: env.queue,
    attempt: r.attempt,
    status: r.status,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
  };
  if (r.traceparent) entry.traceparent = r.traceparent;
  if (r.tracestate) entry.tracestate = r.tracestate;
  if (r.result !== undefined) entry.result = r.result;
  if (r.error) entry.error = r.error;
  if (env.chain) entry.chain = env.chain;
  if (env.batch) entry.batch = env.batch;
  if (env.callback) {
    entry.callback = {
      kind: env.callback.kind,
      workflow: env.callback.workflow,
      workflow_id: env.callback.workflow_id,
    };
  }
  if (env.replay) entry.replay = env.replay;
  if (r.timing) entry.timing = r.timing;
  if (env.notify === false) entry.notify = false;
  return entry;
}

/** A plain job's terminal outcome as `bus.wait` and the results bucket keep it. */
export function resultRecord(o: OutcomeEntry): ResultRecord {
  const r: ResultRecord = {
    v: 1,
    dispatch_id: o.dispatch_id,
    job_id: o.job_id,
    type: o.type,
    queue: o.queue,
    status: o.status === "succeeded" ? "succeeded" : "failed",
    attempts: o.attempt + 1,
    finished_at: o.finished_at,
  };
  if (o.result !== undefined) r.result = o.result;
  if (o.error) r.error = o.error;
  if (o.replay) r.replay = o.replay;
  if (o.timing) r.timing = o.timing;
  return r;
}

/** Whether a plain job's end is announced on `jetbus.done.<dispatch id>`: unless its dispatch said nobody listens. */
export function wantsDoneNotice(o: { notify?: boolean }): boolean {
  return o.notify !== false;
}

/** Plain jobs (not chain nodes, batch members or callbacks) have a result record. */
export function isPlainJob(o: { chain?: unknown; batch?: unknown; callback?: unknown }): boolean {
  return !o.chain && !o.batch && !o.callback;
}

/**
 * @module
 * Outcomes: what workers report after each attempt, on `jetbus.outcomes.<source>`. One message carries one
 * or more entries (workers batch them under load); each entry keeps its own trace context. Coordinators are
 * idempotent per job, so a redelivered or duplicated entry never counts twice.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, ErrorBody, Id, JobType, QueueName, TraceFields } from "./fields.ts";
import { HopTiming } from "./timing.ts";
import { CallbackKind } from "./workflow-view.ts";

export const OutcomeStatus = Type.Union([
  Type.Literal("succeeded"),
  /** terminal: retries spent or a permanent error; the job was dead-lettered */
  Type.Literal("failed"),
  /** not terminal: the attempt failed and the job was scheduled again */
  Type.Literal("retried"),
  /** a member of a cancelled batch that was not run */
  Type.Literal("skipped"),
]);
export type OutcomeStatus = Static<typeof OutcomeStatus>;

export const OutcomeEntry = Type.Object({
  job_id: Id,
  dispatch_id: Id,
  type: JobType,
  queue: QueueName,
  attempt: Type.Integer({ minimum: 0 }),
  status: OutcomeStatus,
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ErrorBody),
  started_at: EpochMillis,
  finished_at: EpochMillis,
  chain: Type.Optional(Type.Object({ id: Id, index: Type.Integer({ minimum: 0 }) })),
  batch: Type.Optional(Type.Object({ id: Id, index: Type.Integer({ minimum: 0 }) })),
  callback: Type.Optional(
    Type.Object({
      kind: CallbackKind,
      workflow: Type.Union([Type.Literal("chain"), Type.Literal("batch")]),
      workflow_id: Id,
    }),
  ),
  replay: Type.Optional(Type.Integer({ minimum: 1 })),
  timing: Type.Optional(HopTiming),
  notify: Type.Optional(
    Type.Boolean({ description: "the envelope's `notify`: false, and the coordinator sends no done notice" }),
  ),
  ...TraceFields,
});
export type OutcomeEntry = Static<typeof OutcomeEntry>;

export const OutcomeMessage = Type.Object({
  v: Type.Literal(1),
  outcomes: Type.Array(OutcomeEntry, { minItems: 1 }),
});
export type OutcomeMessage = Static<typeof OutcomeMessage>;

/**
 * The first terminal outcome of a plain job, kept for `bus.wait`: in a batch on JETBUS_RESULTS for a
 * time-ordered dispatch id (`results.ts`), else in KV `jetbus-results` under the dispatch id.
 */
export const ResultRecord = Type.Object({
  v: Type.Literal(1),
  dispatch_id: Id,
  job_id: Id,
  type: JobType,
  queue: QueueName,
  status: Type.Union([Type.Literal("succeeded"), Type.Literal("failed")]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ErrorBody),
  attempts: Type.Integer({ minimum: 1 }),
  finished_at: EpochMillis,
  /** set when the run came from a dead-letter replay: a later replay's record is the one that counts */
  replay: Type.Optional(Type.Integer({ minimum: 1 })),
  timing: Type.Optional(HopTiming),
});
export type ResultRecord = Static<typeof ResultRecord>;

/** Core NATS on `jetbus.done.<id>`: a plain job's result, or a workflow reaching its end. Not stored. */
export const DoneNotice = Type.Union([
  Type.Object({ v: Type.Literal(1), kind: Type.Literal("job"), record: ResultRecord }),
  Type.Object({
    v: Type.Literal(1),
    kind: Type.Union([Type.Literal("chain"), Type.Literal("batch")]),
    id: Id,
    status: Type.Union([Type.Literal("succeeded"), Type.Literal("failed")]),
    error: Type.Optional(ErrorBody),
  }),
]);
export type DoneNotice = Static<typeof DoneNotice>;

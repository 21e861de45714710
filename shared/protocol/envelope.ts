/**
 * @module
 * The job envelope: the body of every message on `jetbus.jobs.<queue>.<type>` (and, with `not_before`, on
 * `jetbus.delayed.<queue>.<type>`). A worker in any language reads it, runs the job and reports an outcome.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, ErrorBody, Id, JobType, QueueName } from "./fields.ts";
import { JobOptionsWire } from "./job-request.ts";
import { CallbackKind, WorkflowView } from "./workflow-view.ts";

export const CallbackInfo = Type.Object({
  kind: CallbackKind,
  workflow: Type.Union([Type.Literal("chain"), Type.Literal("batch")]),
  workflow_id: Id,
  state: WorkflowView,
  error: Type.Optional(ErrorBody),
});
export type CallbackInfo = Static<typeof CallbackInfo>;

export const JobEnvelope = Type.Object({
  v: Type.Literal(1),
  job_id: Id,
  dispatch_id: Id,
  type: JobType,
  queue: QueueName,
  payload: Type.Optional(Type.Unknown()),
  options: JobOptionsWire,
  attempt: Type.Integer({ minimum: 0, description: "failed runs so far; the worker adds redeliveries" }),
  enqueued_at: EpochMillis,
  not_before: Type.Optional(EpochMillis),
  chain: Type.Optional(Type.Object({ id: Id, index: Type.Integer({ minimum: 0 }) })),
  batch: Type.Optional(Type.Object({ id: Id, index: Type.Integer({ minimum: 0 }) })),
  callback: Type.Optional(CallbackInfo),
  replay: Type.Optional(
    Type.Integer({ minimum: 1, description: "times replayed from the dead-letter stream" }),
  ),
  notify: Type.Optional(
    Type.Boolean({
      description:
        "false: send no done notice for this job (nobody listens; its result is stored as always); absent means true",
    }),
  ),
});
export type JobEnvelope = Static<typeof JobEnvelope>;

/**
 * @module
 * Request/reply bodies answered by the dispatcher (see REQUEST_SUBJECTS). Every reply is either
 * `{ v: 1, ok: true, ... }` or `{ v: 1, ok: false, error: { code, message, retryable } }`.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ErrorBody, Id, QueueName } from "./fields.ts";
import { JobRequest } from "./job-request.ts";
import { HopTiming } from "./timing.ts";

const V = Type.Literal(1, { errorMessage: "must be 1 (protocol version)" });

export const DispatchRequest = Type.Object({ v: V, job: JobRequest }, { additionalProperties: false });
export type DispatchRequest = Static<typeof DispatchRequest>;

export const BulkDispatchRequest = Type.Object(
  { v: V, jobs: Type.Array(JobRequest, { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);
export type BulkDispatchRequest = Static<typeof BulkDispatchRequest>;

export const ErrorReply = Type.Object({ v: V, ok: Type.Literal(false), error: ErrorBody });
export type ErrorReply = Static<typeof ErrorReply>;

export const DispatchOk = Type.Object({
  v: V,
  ok: Type.Literal(true),
  dispatch_id: Id,
  /** true when this dispatch id was already accepted: the first reply is repeated, no second job. */
  duplicate: Type.Boolean(),
  timing: Type.Optional(HopTiming),
});
export type DispatchOk = Static<typeof DispatchOk>;
export const DispatchReply = Type.Union([DispatchOk, ErrorReply]);
export type DispatchReply = Static<typeof DispatchReply>;

export const BulkItemResult = Type.Union([
  Type.Object({ ok: Type.Literal(true), dispatch_id: Id, duplicate: Type.Boolean() }),
  Type.Object({ ok: Type.Literal(false), dispatch_id: Type.Optional(Type.String()), error: ErrorBody }),
]);
export type BulkItemResult = Static<typeof BulkItemResult>;
export const BulkDispatchOk = Type.Object({
  v: V,
  ok: Type.Literal(true),
  results: Type.Array(BulkItemResult),
});
export type BulkDispatchOk = Static<typeof BulkDispatchOk>;
export const BulkDispatchReply = Type.Union([BulkDispatchOk, ErrorReply]);
export type BulkDispatchReply = Static<typeof BulkDispatchReply>;

export const ChainRequest = Type.Object(
  {
    v: V,
    chain_id: Id,
    dispatch_id: Type.Optional(Id),
    queue: Type.Optional(QueueName),
    jobs: Type.Array(JobRequest, {
      minItems: 1,
      maxItems: 10_000,
      errorMessage: "a chain needs at least one job",
    }),
    catch: Type.Optional(JobRequest),
    finally: Type.Optional(JobRequest),
  },
  { additionalProperties: false },
);
export type ChainRequest = Static<typeof ChainRequest>;

export const BatchCreateRequest = Type.Object(
  {
    v: V,
    batch_id: Id,
    dispatch_id: Type.Optional(Id),
    name: Type.Optional(Type.String({ maxLength: 256 })),
    queue: Type.Optional(QueueName),
    allow_failures: Type.Optional(Type.Boolean()),
    then: Type.Optional(JobRequest),
    catch: Type.Optional(JobRequest),
    finally: Type.Optional(JobRequest),
    progress: Type.Optional(JobRequest),
    /** The first chunk of members (optional): small batches are created, filled and sealed in one request. */
    jobs: Type.Optional(Type.Array(JobRequest, { maxItems: 10_000 })),
    seal: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type BatchCreateRequest = Static<typeof BatchCreateRequest>;

export const BatchAppendRequest = Type.Object(
  {
    v: V,
    batch_id: Id,
    /** Index of the first job in this chunk; chunks are appended in order, a repeated chunk is a no-op. */
    offset: Type.Integer({ minimum: 0 }),
    jobs: Type.Array(JobRequest, { minItems: 1, maxItems: 10_000 }),
    seal: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type BatchAppendRequest = Static<typeof BatchAppendRequest>;

export const BatchSealRequest = Type.Object(
  { v: V, batch_id: Id, total: Type.Integer({ minimum: 1, errorMessage: "a batch needs at least one job" }) },
  { additionalProperties: false },
);
export type BatchSealRequest = Static<typeof BatchSealRequest>;

export const BatchCancelRequest = Type.Object(
  { v: V, batch_id: Id, reason: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);
export type BatchCancelRequest = Static<typeof BatchCancelRequest>;

export const WorkflowOk = Type.Object({
  v: V,
  ok: Type.Literal(true),
  id: Id,
  /** members recorded so far (batches) */
  appended: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type WorkflowOk = Static<typeof WorkflowOk>;
export const WorkflowReply = Type.Union([WorkflowOk, ErrorReply]);
export type WorkflowReply = Static<typeof WorkflowReply>;

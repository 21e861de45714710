/**
 * @module
 * The public state of a chain or batch as callbacks (and other languages) see it.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, ErrorBody, Id, QueueName } from "./fields.ts";

export const CallbackKind = Type.Union([
  Type.Literal("then"),
  Type.Literal("catch"),
  Type.Literal("finally"),
  Type.Literal("progress"),
]);
export type CallbackKind = Static<typeof CallbackKind>;

export const ChainView = Type.Object({
  kind: Type.Literal("chain"),
  chain_id: Id,
  dispatch_id: Id,
  queue: QueueName,
  job_types: Type.Array(Type.String()),
  next_index: Type.Integer({ minimum: 0 }),
  completed: Type.Boolean(),
  failed: Type.Boolean(),
  failure: Type.Union([ErrorBody, Type.Null()]),
  created_at: EpochMillis,
  updated_at: EpochMillis,
});
export type ChainView = Static<typeof ChainView>;

export const BatchView = Type.Object({
  kind: Type.Literal("batch"),
  batch_id: Id,
  dispatch_id: Id,
  name: Type.String(),
  queue: QueueName,
  allow_failures: Type.Boolean(),
  sealed: Type.Boolean(),
  total: Type.Integer({ minimum: 0 }),
  pending: Type.Integer({ minimum: 0 }),
  processed: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0 }),
  cancelled: Type.Boolean(),
  completed: Type.Boolean(),
  failure: Type.Union([ErrorBody, Type.Null()]),
  created_at: EpochMillis,
  updated_at: EpochMillis,
});
export type BatchView = Static<typeof BatchView>;

export const WorkflowView = Type.Union([ChainView, BatchView]);
export type WorkflowView = Static<typeof WorkflowView>;

/**
 * @module
 * Chain and batch state as TypeScript callers see it (`findChain`, `findBatch`, `ctx.workflow`), converted from
 * the snake_case wire view.
 */
import { fromErrorBody, type JetbusError } from "./errors.ts";
import type { BatchView, ChainView, WorkflowView } from "./schemas.ts";

export interface ChainInfo {
  kind: "chain";
  chainId: string;
  dispatchId: string;
  queue: string;
  jobTypes: string[];
  /** nodes that succeeded = index of the node pending or running */
  nextIndex: number;
  completed: boolean;
  failed: boolean;
  /** the first failure, kept */
  failure: JetbusError | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface BatchInfo {
  kind: "batch";
  batchId: string;
  dispatchId: string;
  name: string;
  queue: string;
  allowFailures: boolean;
  /** all members recorded (creation finished) */
  sealed: boolean;
  total: number;
  /** always `total - processed` */
  pending: number;
  /** members with an outcome, failed and skipped ones included */
  processed: number;
  failed: number;
  /** members of a cancelled batch that were never run */
  skipped: number;
  cancelled: boolean;
  completed: boolean;
  failure: JetbusError | null;
  createdAt: Date;
  updatedAt: Date;
}

export type WorkflowInfo = ChainInfo | BatchInfo;

export function chainInfo(v: ChainView): ChainInfo {
  return {
    kind: "chain",
    chainId: v.chain_id,
    dispatchId: v.dispatch_id,
    queue: v.queue,
    jobTypes: v.job_types,
    nextIndex: v.next_index,
    completed: v.completed,
    failed: v.failed,
    failure: v.failure ? fromErrorBody(v.failure) : null,
    createdAt: new Date(v.created_at),
    updatedAt: new Date(v.updated_at),
  };
}

export function batchInfo(v: BatchView): BatchInfo {
  return {
    kind: "batch",
    batchId: v.batch_id,
    dispatchId: v.dispatch_id,
    name: v.name,
    queue: v.queue,
    allowFailures: v.allow_failures,
    sealed: v.sealed,
    total: v.total,
    pending: v.pending,
    processed: v.processed,
    failed: v.failed,
    skipped: v.skipped,
    cancelled: v.cancelled,
    completed: v.completed,
    failure: v.failure ? fromErrorBody(v.failure) : null,
    createdAt: new Date(v.created_at),
    updatedAt: new Date(v.updated_at),
  };
}

export function workflowInfo(v: WorkflowView): WorkflowInfo {
  return v.kind === "chain" ? chainInfo(v) : batchInfo(v);
}

/**
 * @module
 * State → the public wire view (what callbacks, `findChain`/`findBatch` and other languages see).
 */
import type { BatchView, ChainView, WorkflowView } from "../protocol/schemas.ts";
import type { BatchState, ChainState, WorkflowState } from "./types.ts";

export function chainView(s: ChainState): ChainView {
  return {
    kind: "chain",
    chain_id: s.id,
    dispatch_id: s.dispatchId,
    queue: s.queue,
    job_types: s.nodes.map((n) => n.type),
    next_index: s.nextIndex,
    completed: s.completed,
    failed: s.failed,
    failure: s.failure,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function batchView(s: BatchState): BatchView {
  return {
    kind: "batch",
    batch_id: s.id,
    dispatch_id: s.dispatchId,
    name: s.name,
    queue: s.queue,
    allow_failures: s.allowFailures,
    sealed: s.sealed,
    total: s.total,
    pending: s.total - s.processed,
    processed: s.processed,
    failed: s.failed,
    skipped: s.skipped,
    cancelled: s.cancelled,
    completed: s.completed,
    failure: s.failure,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function workflowView(s: WorkflowState): WorkflowView {
  return s.kind === "chain" ? chainView(s) : batchView(s);
}

export function isTerminal(s: WorkflowState): boolean {
  return s.kind === "chain" ? s.completed || s.failed : s.completed;
}

/** Prunable: terminal and last changed before `before` (epoch ms). Active workflows are never pruned. */
export function isPrunable(s: WorkflowState, before: number): boolean {
  return isTerminal(s) && s.updatedAt < before;
}

/**
 * @module
 * The reconciler's decision for one workflow, as a pure function of its state and what the shell observed:
 * no workflow hangs forever. A batch whose creation stopped, or a workflow waiting on a (queue, type) that no
 * live worker serves past the deadline, or whose pending member's message is gone, is failed (catch and
 * finally then fire through the normal transition).
 */
import type { ErrorBody } from "../protocol/schemas.ts";
import type { WorkflowState } from "./types.ts";
import { isTerminal } from "./views.ts";
import { pendingTypes } from "./workflow.ts";

export interface ReconcileFacts {
  now: number;
  creationTimeoutMs: number;
  noWorkerDeadlineMs: number;
  lostConfirmMs: number;
  /** since when no live worker has served (queue, type); undefined while one does */
  noWorkerSince: (queue: string, type: string) => number | undefined;
  /** since when no stored message of (queue, type) exists and no outcome is in flight; undefined otherwise */
  messagesGoneSince: (queue: string, type: string) => number | undefined;
}

export type ReconcileDecision = { action: "none" } | { action: "fail"; error: ErrorBody };

export function decideReconcile(state: WorkflowState, f: ReconcileFacts): ReconcileDecision {
  if (isTerminal(state)) return { action: "none" };
  const idleMs = f.now - state.updatedAt;
  if (state.kind === "batch" && !state.sealed && idleMs > f.creationTimeoutMs) {
    return {
      action: "fail",
      error: {
        code: "CREATION_INTERRUPTED",
        message: `batch creation stopped after ${state.total} members and was never sealed (idle ${Math.round(idleMs / 1000)} s)`,
        retryable: false,
      },
    };
  }
  for (const { queue, type } of pendingTypes(state)) {
    const noWorker = f.noWorkerSince(queue, type);
    if (noWorker !== undefined && f.now - Math.max(noWorker, state.updatedAt) > f.noWorkerDeadlineMs) {
      return {
        action: "fail",
        error: {
          code: "NO_WORKER",
          message: `no live worker serves ${type} on queue ${queue} (waited ${Math.round((f.now - Math.max(noWorker, state.updatedAt)) / 1000)} s)`,
          retryable: false,
          details: { queue, type },
        },
      };
    }
    const gone = f.messagesGoneSince(queue, type);
    if (gone !== undefined && f.now - Math.max(gone, state.updatedAt) > f.lostConfirmMs) {
      return {
        action: "fail",
        error: {
          code: "MEMBER_LOST",
          message: `a pending ${type} job on queue ${queue} has no stored message and no outcome: it was lost`,
          retryable: false,
          details: { queue, type },
        },
      };
    }
  }
  return { action: "none" };
}

/**
 * @module
 * Transitions over either workflow kind, as the coordinator applies a group of outcomes to one record.
 */
import type { ErrorBody } from "../protocol/schemas.ts";
import { applyBatchOutcomes, batchPendingTypes, cancelBatch } from "./batch.ts";
import { applyChainOutcomes, chainPendingTypes, failChain } from "./chain.ts";
import type { MemberOutcome, Transition, TransitionContext, WorkflowState } from "./types.ts";

export function applyOutcomes(
  state: WorkflowState,
  outcomes: readonly MemberOutcome[],
  ctx: TransitionContext,
): Transition<WorkflowState> {
  return state.kind === "chain"
    ? applyChainOutcomes(state, outcomes, ctx)
    : applyBatchOutcomes(state, outcomes, ctx);
}

/** Ends a running workflow from outside (lost member, no worker, interrupted creation). */
export function failWorkflow(
  state: WorkflowState,
  error: ErrorBody,
  ctx: TransitionContext,
): Transition<WorkflowState> {
  return state.kind === "chain"
    ? failChain(state, error, ctx)
    : cancelBatch(state, error, ctx, { failed: true });
}

export function pendingTypes(state: WorkflowState): { queue: string; type: string }[] {
  return state.kind === "chain" ? chainPendingTypes(state) : batchPendingTypes(state);
}

/**
 * Records how a then/catch/finally callback job ended (from its outcome), in the record's claims, so a
 * duplicate outcome changes nothing and an old outbox entry for it is known to be done. Progress callbacks are
 * not tracked one by one.
 */
export function recordCallbackOutcome(
  state: WorkflowState,
  kind: "then" | "catch" | "finally" | "progress",
  status: "succeeded" | "failed",
  ctx: TransitionContext,
): Transition<WorkflowState> {
  const claim = kind === "progress" ? undefined : state.claims[kind];
  if (!claim || claim.status !== "published") {
    return { next: state, effects: [], changed: false, rejected: [], duplicates: claim ? 1 : 0 };
  }
  const next = {
    ...state,
    claims: { ...state.claims, [kind]: { ...claim, status, at: ctx.now } },
    updatedAt: ctx.now,
  };
  return { next: next as WorkflowState, effects: [], changed: true, rejected: [], duplicates: 0 };
}

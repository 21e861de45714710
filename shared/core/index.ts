/**
 * @module
 * The pure workflow core: `(state, outcomes, { now, newId }) → { next, effects }`. No I/O, clock or randomness
 * (a lint rule keeps it so); the coordinator and dispatcher apply these with revision-checked writes.
 */
export {
  appendMembers,
  applyBatchOutcomes,
  batchPendingTypes,
  cancelBatch,
  createBatch,
  sealBatch,
} from "./batch.ts";
export type { AppendResult, NewBatch } from "./batch.ts";
export { Bitmap } from "./bitmap.ts";
export { applyChainOutcomes, chainPendingTypes, createChain, failChain } from "./chain.ts";
export type { NewChain } from "./chain.ts";
export { callbackJobId, eventId, memberJobId, nodeJobId, progressJobId } from "./ids.ts";
export { batchView, chainView, isPrunable, isTerminal, workflowView } from "./views.ts";
export { applyOutcomes, failWorkflow, pendingTypes, recordCallbackOutcome } from "./workflow.ts";
export type {
  BatchState,
  CallbackClaim,
  CallbackClaims,
  CallbackSpecs,
  ChainState,
  Effect,
  JobSpec,
  MemberOutcome,
  Rejection,
  Transition,
  TransitionContext,
  WorkItem,
  WorkflowState,
} from "./types.ts";

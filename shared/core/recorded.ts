/**
 * @module
 * Whether a workflow record already holds the outcome of one of its jobs: a batch member whose bit is set, a
 * chain node the chain has moved past (or any node of a chain that ended), a then/catch/finally callback whose
 * claim has its outcome. A worker that gets such a job again (a redelivery after a lost ack: a server restart, a
 * leader change) settles it from the record instead of running it or taking it for a dead worker's.
 */
import { Bitmap } from "./bitmap.ts";
import type { CallbackKind, WorkflowState } from "./types.ts";

export interface WorkflowJobRef {
  chain?: { id: string; index: number };
  batch?: { id: string; index: number };
  callback?: { kind: CallbackKind; workflow: "chain" | "batch"; workflow_id: string };
}

export function outcomeRecorded(state: WorkflowState, job: WorkflowJobRef): boolean {
  if (job.callback) {
    // Progress calls are not tracked one by one: never known to be recorded.
    if (job.callback.kind === "progress") return false;
    const claim = state.claims[job.callback.kind];
    return claim?.status === "succeeded" || claim?.status === "failed";
  }
  if (job.batch && state.kind === "batch") return Bitmap.decode(state.done).has(job.batch.index);
  if (job.chain && state.kind === "chain")
    return job.chain.index < state.nextIndex || state.failed || state.completed;
  return false;
}

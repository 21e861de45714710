/**
 * @module
 * Whether a workflow record can still be written when it finishes. The write that completes (or fails) a
 * workflow puts its callbacks' publications, each with its spec and the workflow's view, into the outbox beside
 * the copies the record holds, so a record that fits at creation can outgrow its budget at completion and never
 * complete. The dispatcher refuses such a creation or append up front (the budget is `BUDGETS` in
 * shared/protocol/budgets.ts; the literal type makes the compiler check it agrees).
 */
import type { BUDGETS } from "../protocol/budgets.ts";
import { STORED_ERROR_BYTES } from "./truncate.ts";
import type { CallbackKind, CallbackSpecs, WorkflowState } from "./types.ts";
import { workflowView } from "./views.ts";

export const WORKFLOW_RECORD_BYTES: (typeof BUDGETS)["workflowRecordBytes"] = 786432;

/** Ids, trace context and the frame of one outbox entry. */
const ENTRY_FRAME_BYTES = 2048;
/** The events a finishing write emits (progressed, failed, cancelled) and its done notice, each with an error. */
const FINISH_NOTICES = 4;

const encoder = new TextEncoder();
const utf8Length = (s: string): number => encoder.encode(s).length;

/**
 * The most bytes any later write of this workflow adds to what its state takes now: the failure it may
 * record, the events and done notice (each may carry it), and the largest outbox a step can hold (a chain's next node, or
 * then + finally, or catch with its error + finally; callbacks already claimed are published already).
 */
export function completionReserveBytes(s: WorkflowState): number {
  const view = utf8Length(JSON.stringify(workflowView(s))) + STORED_ERROR_BYTES;
  const callback = (kind: CallbackKind): number => {
    if (kind === "progress") return 0;
    const spec = s.callbacks[kind];
    if (!spec || s.claims[kind]) return 0;
    return utf8Length(JSON.stringify(spec)) + view + ENTRY_FRAME_BYTES;
  };
  const nextNode =
    s.kind === "chain"
      ? Math.max(0, ...s.nodes.slice(s.nextIndex + 1).map((n) => utf8Length(JSON.stringify(n)))) +
        ENTRY_FRAME_BYTES
      : 0;
  const outbox = Math.max(
    nextNode,
    callback("then") + callback("finally"),
    callback("catch") + STORED_ERROR_BYTES + callback("finally"),
  );
  return STORED_ERROR_BYTES + FINISH_NOTICES * (STORED_ERROR_BYTES + ENTRY_FRAME_BYTES) + outbox;
}

/** Why this state cannot be accepted (its worst-case completion write is over budget), or null when it fits. */
export function completionOverBudget(
  s: WorkflowState,
  limit: number = WORKFLOW_RECORD_BYTES,
): { size: number; limit: number; reason: string } | null {
  const size = utf8Length(JSON.stringify(s)) + completionReserveBytes(s);
  if (size <= limit) return null;
  return {
    size,
    limit,
    reason:
      `${s.kind} ${s.id} would need up to ${size} bytes when it finishes (its record plus its callbacks' ` +
      `publications), over the ${limit}-byte workflow record budget: make the callbacks' payloads smaller`,
  };
}

/**
 * The state with only the callbacks already claimed: a workflow whose record outgrew its budget is failed
 * without publishing the callbacks that made it too large (they could never be stored), so the failure fits.
 */
export function withoutUnclaimedCallbacks<S extends WorkflowState>(s: S): S {
  const { then, catch: onError, finally: last, progress } = s.callbacks;
  const callbacks: CallbackSpecs = {};
  if (then && s.claims.then) callbacks.then = then;
  if (onError && s.claims.catch) callbacks.catch = onError;
  if (last && s.claims.finally) callbacks.finally = last;
  if (progress) callbacks.progress = progress;
  return { ...s, callbacks };
}

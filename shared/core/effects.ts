/**
 * @module
 * Small constructors for effects and events, so transitions read as the rules they implement.
 */
import type { BusEventWire, ErrorBody } from "../protocol/schemas.ts";
import { callbackJobId, eventId } from "./ids.ts";
import type { CallbackKind, Effect, JobSpec, TransitionContext, WorkflowState } from "./types.ts";
import { workflowView } from "./views.ts";

type EventFields = Omit<BusEventWire, "id" | "kind" | "at">;

export function event(
  s: WorkflowState,
  kind: BusEventWire["kind"],
  ctx: TransitionContext,
  discriminator?: string | number,
  fields: EventFields = {},
): Effect {
  const ids = s.kind === "chain" ? { chain_id: s.id } : { batch_id: s.id };
  const e: BusEventWire = {
    id: eventId(s.id, kind, discriminator),
    kind,
    at: ctx.now,
    dispatch_id: s.dispatchId,
    ...ids,
    ...fields,
  };
  if (s.traceparent && !e.traceparent) e.traceparent = s.traceparent;
  return { type: "event", event: e };
}

/**
 * Claims a then/catch/finally callback and returns its publication, or nothing when it is not configured or
 * already claimed: each callback is published at most once per workflow, and the claim is written in the
 * same revision-checked write as the outbox that publishes it.
 */
export function claimCallback(
  s: WorkflowState,
  kind: "then" | "catch" | "finally",
  ctx: TransitionContext,
  error?: ErrorBody,
): Effect[] {
  const spec = s.callbacks[kind];
  if (!spec || s.claims[kind]) return [];
  const jobId = callbackJobId(s.id, kind);
  s.claims[kind] = { jobId, status: "published", at: ctx.now };
  return [callbackPublish(s, kind, spec, jobId, error)];
}

export function callbackPublish(
  s: WorkflowState,
  kind: CallbackKind,
  spec: JobSpec,
  jobId: string,
  error?: ErrorBody,
): Effect {
  return {
    type: "publish",
    msgId: jobId,
    item: {
      jobId,
      dispatchId: s.dispatchId,
      spec,
      callback: {
        kind,
        workflow: s.kind,
        workflowId: s.id,
        state: workflowView(s),
        ...(error ? { error } : {}),
      },
      ...trace(s),
    },
  };
}

export function trace(s: WorkflowState): { traceparent?: string; tracestate?: string } {
  const t: { traceparent?: string; tracestate?: string } = {};
  if (s.traceparent) t.traceparent = s.traceparent;
  if (s.tracestate) t.tracestate = s.tracestate;
  return t;
}

/** What any terminal failure publishes: catch (with the error), then finally, then the waiters' notice. */
export function failureEffects(s: WorkflowState, error: ErrorBody, ctx: TransitionContext): Effect[] {
  return [
    ...claimCallback(s, "catch", ctx, error),
    ...claimCallback(s, "finally", ctx),
    done(s, "failed", error),
  ];
}

export function done(s: WorkflowState, status: "succeeded" | "failed", error?: ErrorBody | null): Effect {
  return { type: "done", kind: s.kind, id: s.id, status, ...(error ? { error } : {}) };
}

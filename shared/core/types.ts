/**
 * @module
 * The pure workflow core's vocabulary. State is plain JSON (it is what the store keeps); effects are what the
 * shell must do after it has written the new state: publish a job, publish an event, broadcast a cancel,
 * notify waiters. Nothing here performs I/O, reads the clock or draws random numbers.
 */
import type {
  BusEventWire,
  CallbackKind,
  ErrorBody,
  JobOptionsWire,
  WorkflowView,
} from "../protocol/schemas.ts";

export type { CallbackKind, ErrorBody };

/** A job fully resolved at dispatch: queue defaulted, options in wire form. */
export interface JobSpec {
  type: string;
  queue: string;
  payload: unknown;
  options: JobOptionsWire;
}

export interface CallbackSpecs {
  then?: JobSpec;
  catch?: JobSpec;
  finally?: JobSpec;
  progress?: JobSpec;
}

/** The claim on a callback: set in the same revision-checked write that puts its publication in the outbox. */
export interface CallbackClaim {
  jobId: string;
  status: "published" | "succeeded" | "failed";
  at: number;
}
export type CallbackClaims = Partial<Record<"then" | "catch" | "finally", CallbackClaim>>;

interface WorkflowBase {
  id: string;
  dispatchId: string;
  queue: string;
  callbacks: CallbackSpecs;
  claims: CallbackClaims;
  failure: ErrorBody | null;
  createdAt: number;
  updatedAt: number;
  /** trace context of the dispatch, so successors and callbacks join its trace */
  traceparent?: string;
  tracestate?: string;
}

export interface ChainState extends WorkflowBase {
  kind: "chain";
  nodes: JobSpec[];
  /** nodes that succeeded = index of the node pending or running */
  nextIndex: number;
  completed: boolean;
  failed: boolean;
}

export interface BatchState extends WorkflowBase {
  kind: "batch";
  name: string;
  allowFailures: boolean;
  /** all members appended; until then `total` grows with each appended chunk */
  sealed: boolean;
  total: number;
  processed: number;
  failed: number;
  skipped: number;
  cancelled: boolean;
  completed: boolean;
  /** base64 bitmap, bit i = member i has a recorded outcome: per-member idempotence in N/8 bytes */
  done: string;
  /** run-length [queue, type, count] of members in index order, for the lost-member reconciler */
  members: [string, string, number][];
  /** the most retries any member was dispatched with: an outcome past it is refused (absent in old records) */
  maxRetry?: number;
  /** progress callbacks published so far (each has its own job id) */
  progressPublished: number;
  /** trace contexts of the first members to finish (at most MAX_MEMBER_LINKS), for the callbacks' span links */
  links?: string[];
}

export type WorkflowState = ChainState | BatchState;

export interface WorkItem {
  jobId: string;
  dispatchId: string;
  spec: JobSpec;
  chain?: { id: string; index: number };
  batch?: { id: string; index: number };
  callback?: {
    kind: CallbackKind;
    workflow: "chain" | "batch";
    workflowId: string;
    state: WorkflowView;
    error?: ErrorBody;
  };
  traceparent?: string;
  tracestate?: string;
}

export type Effect =
  /** `msgId` is deterministic, so a republished effect is deduplicated by JetStream. */
  | { type: "publish"; msgId: string; item: WorkItem }
  | { type: "event"; event: BusEventWire }
  | { type: "cancel"; batchId: string }
  | { type: "done"; kind: "chain" | "batch"; id: string; status: "succeeded" | "failed"; error?: ErrorBody };

/** A terminal (or skipped) outcome of one workflow member, as the coordinator hands it to the core. */
export interface MemberOutcome {
  jobId: string;
  index: number;
  status: "succeeded" | "failed" | "skipped";
  /** the 0-based attempt the outcome reports (checked against the job's retries) */
  attempt?: number;
  error?: ErrorBody;
  type?: string;
  queue?: string;
  /** the trace context of the delivery that produced it */
  traceparent?: string;
}

export interface Rejection {
  reason: string;
  /** the outcome can never be true (see refusal.ts): the shell dead-letters it */
  refused?: boolean;
  outcome?: MemberOutcome;
}

export interface Transition<S> {
  next: S;
  effects: Effect[];
  /** false when nothing needs writing (duplicates only, or a no-op) */
  changed: boolean;
  rejected: Rejection[];
  /** outcomes already recorded before: ignored, never counted twice */
  duplicates: number;
  /** the outcomes this transition counted (first time seen), for facts derived per job */
  accepted?: MemberOutcome[];
}

export interface TransitionContext {
  now: number;
  newId: () => string;
}

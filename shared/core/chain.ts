/**
 * @module
 * Chain transitions. Node n+1 is published only after node n succeeded; a node fails the chain only on its
 * terminal attempt (workers report `failed` only then); the first failure cause wins and later nodes never
 * run; `catch` then `finally` on failure, `finally` on success.
 */
import { truncateError } from "./truncate.ts";
import type { ErrorBody } from "../protocol/schemas.ts";
import { claimCallback, done, event, failureEffects, trace } from "./effects.ts";
import { nodeJobId } from "./ids.ts";
import { refusal } from "./refusal.ts";
import type {
  CallbackSpecs,
  ChainState,
  Effect,
  JobSpec,
  MemberOutcome,
  Rejection,
  Transition,
  TransitionContext,
} from "./types.ts";

export interface NewChain {
  id: string;
  dispatchId: string;
  queue: string;
  nodes: JobSpec[];
  callbacks: Pick<CallbackSpecs, "catch" | "finally">;
  traceparent?: string;
  tracestate?: string;
}

export function createChain(input: NewChain, ctx: TransitionContext): Transition<ChainState> {
  if (input.nodes.length === 0) throw new RangeError("a chain needs at least one job");
  const next: ChainState = {
    kind: "chain",
    id: input.id,
    dispatchId: input.dispatchId,
    queue: input.queue,
    nodes: input.nodes,
    nextIndex: 0,
    completed: false,
    failed: false,
    failure: null,
    callbacks: input.callbacks,
    claims: {},
    createdAt: ctx.now,
    updatedAt: ctx.now,
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    ...(input.tracestate ? { tracestate: input.tracestate } : {}),
  };
  const first = input.nodes[0]!;
  return {
    next,
    effects: [
      event(next, "chain_started", ctx, undefined, { type: first.type, queue: first.queue }),
      publishNode(next, 0),
    ],
    changed: true,
    rejected: [],
    duplicates: 0,
  };
}

function publishNode(s: ChainState, index: number): Effect {
  const jobId = nodeJobId(s.id, index);
  return {
    type: "publish",
    msgId: jobId,
    item: { jobId, dispatchId: s.dispatchId, spec: s.nodes[index]!, chain: { id: s.id, index }, ...trace(s) },
  };
}

function clone(s: ChainState): ChainState {
  return { ...s, claims: { ...s.claims } };
}

export function applyChainOutcomes(
  state: ChainState,
  outcomes: readonly MemberOutcome[],
  ctx: TransitionContext,
): Transition<ChainState> {
  const s = clone(state);
  const effects: Effect[] = [];
  const rejected: Rejection[] = [];
  const accepted: MemberOutcome[] = [];
  let duplicates = 0;
  let changed = false;

  for (const o of outcomes) {
    if (o.status === "skipped") {
      rejected.push({ reason: "chains have no skipped members", outcome: o });
      continue;
    }
    const refused = refusal(s, o);
    if (refused) {
      rejected.push({ reason: refused, outcome: o, refused: true });
      continue;
    }
    if (o.index > s.nextIndex) {
      rejected.push({ reason: `node ${o.index} is ahead of the chain (next is ${s.nextIndex})`, outcome: o });
      continue;
    }
    // Past nodes, and the current node of a finished chain, are duplicates or contradictions: first writer wins.
    if (o.index < s.nextIndex || s.completed || s.failed) {
      duplicates++;
      continue;
    }
    changed = true;
    accepted.push(o);
    const node = s.nodes[o.index]!;
    if (o.status === "succeeded") {
      s.nextIndex++;
      if (s.nextIndex === s.nodes.length) {
        s.completed = true;
        s.updatedAt = ctx.now;
        effects.push(event(s, "chain_completed", ctx, undefined, { type: node.type, queue: node.queue }));
        effects.push(...claimCallback(s, "finally", ctx));
        effects.push(done(s, "succeeded"));
      } else {
        effects.push(
          event(s, "chain_advanced", ctx, o.index, { job_id: o.jobId, type: node.type, queue: node.queue }),
        );
        effects.push(publishNode(s, s.nextIndex));
      }
    } else {
      effects.push(
        ...fail(s, o.error ?? unknownError(), ctx, { job_id: o.jobId, type: node.type, queue: node.queue }),
      );
    }
  }
  if (changed) s.updatedAt = ctx.now;
  return { next: changed ? s : state, effects, changed, rejected, duplicates, accepted };
}

function unknownError(): ErrorBody {
  return { code: "HANDLER_ERROR", message: "job failed", retryable: false };
}

function fail(
  s: ChainState,
  error: ErrorBody,
  ctx: TransitionContext,
  fields: { job_id?: string; type?: string; queue?: string } = {},
): Effect[] {
  s.failed = true;
  // Bounded: the error is copied into the record, its events and its catch callback (budgets.ts).
  error = truncateError(error);
  s.failure = error;
  s.updatedAt = ctx.now;
  return [event(s, "chain_failed", ctx, undefined, { ...fields, error }), ...failureEffects(s, error, ctx)];
}

/** Fails a chain from outside its nodes (a lost node, no worker for its type, an interrupted creation). */
export function failChain(
  state: ChainState,
  error: ErrorBody,
  ctx: TransitionContext,
): Transition<ChainState> {
  if (state.completed || state.failed) {
    return {
      next: state,
      effects: [],
      changed: false,
      rejected: [{ reason: "chain already finished" }],
      duplicates: 0,
    };
  }
  const s = clone(state);
  const node = s.nodes[s.nextIndex];
  const effects = fail(s, error, ctx, node ? { type: node.type, queue: node.queue } : {});
  return { next: s, effects, changed: true, rejected: [], duplicates: 0 };
}

/** The (queue, type) the chain is waiting on, if it is still running. */
export function chainPendingTypes(s: ChainState): { queue: string; type: string }[] {
  if (s.completed || s.failed) return [];
  const node = s.nodes[s.nextIndex];
  return node ? [{ queue: node.queue, type: node.type }] : [];
}

/**
 * @module
 * Batch transitions. Counters obey `pending + processed == total` (pending is derived), failed and skipped
 * members count as processed, and a member counts once whatever duplicates arrive (bitmap). Without
 * allowFailures the first terminal failure cancels the batch (catch + finally, never then); with it, catch
 * fires at the first failure and then + finally at completion, in whatever order members finish.
 */
import type { ErrorBody } from "../protocol/schemas.ts";
import type { BUDGETS } from "../protocol/budgets.ts";
import { truncateError } from "./truncate.ts";
import { Bitmap } from "./bitmap.ts";
import { callbackPublish, claimCallback, done, event, failureEffects } from "./effects.ts";
import { progressJobId } from "./ids.ts";
import { refusal } from "./refusal.ts";
import type {
  BatchState,
  CallbackSpecs,
  Effect,
  MemberOutcome,
  Rejection,
  Transition,
  TransitionContext,
} from "./types.ts";

/** Run-length entries a record may keep (BUDGETS.batchMemberRuns; the type checks they agree). */
const MAX_MEMBER_RUNS: (typeof BUDGETS)["batchMemberRuns"] = 8192;

/** How many [queue, type, count] runs the record would hold with `members` appended. */
function runsAfter(
  runs: readonly [string, string, number][],
  members: readonly { queue: string; type: string }[],
): number {
  const last = runs[runs.length - 1];
  let n = runs.length;
  let queue = last?.[0];
  let type = last?.[1];
  for (const m of members) {
    if (m.queue !== queue || m.type !== type) n++;
    queue = m.queue;
    type = m.type;
  }
  return n;
}

/** A batch callback's span links to at most this many members (the total rides as an attribute). */
export const MAX_MEMBER_LINKS = 128;

export interface NewBatch {
  id: string;
  dispatchId: string;
  name: string;
  queue: string;
  allowFailures: boolean;
  callbacks: CallbackSpecs;
  traceparent?: string;
  tracestate?: string;
}

const unchanged = (s: BatchState, rejected: Rejection[] = []): Transition<BatchState> => ({
  next: s,
  effects: [],
  changed: false,
  rejected,
  duplicates: 0,
});

function clone(s: BatchState): BatchState {
  return { ...s, claims: { ...s.claims }, members: s.members.map((m) => [...m] as [string, string, number]) };
}

export function createBatch(input: NewBatch, ctx: TransitionContext): Transition<BatchState> {
  const next: BatchState = {
    kind: "batch",
    id: input.id,
    dispatchId: input.dispatchId,
    name: input.name,
    queue: input.queue,
    allowFailures: input.allowFailures,
    sealed: false,
    total: 0,
    processed: 0,
    failed: 0,
    skipped: 0,
    cancelled: false,
    completed: false,
    failure: null,
    done: "",
    members: [],
    progressPublished: 0,
    callbacks: input.callbacks,
    claims: {},
    createdAt: ctx.now,
    updatedAt: ctx.now,
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    ...(input.tracestate ? { tracestate: input.tracestate } : {}),
  };
  return {
    next,
    effects: [event(next, "batch_started", ctx, undefined, { queue: next.queue })],
    changed: true,
    rejected: [],
    duplicates: 0,
  };
}

export interface AppendResult extends Transition<BatchState> {
  /** the chunk was recorded before: republish its members (deduplicated), change nothing */
  repeated: boolean;
  /** the batch was already cancelled: the members were counted as skipped and must not be published */
  skipPublish: boolean;
}

/**
 * Records a chunk of members before they are published. Chunks arrive in order (`offset` = members so far);
 * a repeated chunk is a no-op, a gap or an overlap is rejected.
 */
export function appendMembers(
  state: BatchState,
  offset: number,
  members: readonly { queue: string; type: string; options?: { retry?: number } }[],
  ctx: TransitionContext,
): AppendResult {
  const base = { repeated: false, skipPublish: false };
  if (offset + members.length <= state.total && offset < state.total) {
    return { ...unchanged(state), repeated: true, skipPublish: state.cancelled };
  }
  if (state.sealed) return { ...unchanged(state, [{ reason: "batch is sealed" }]), ...base };
  if (offset !== state.total) {
    return {
      ...unchanged(state, [{ reason: `chunk at offset ${offset} but ${state.total} members are recorded` }]),
      ...base,
    };
  }
  const s = clone(state);
  if (runsAfter(state.members, members) > MAX_MEMBER_RUNS) {
    const reason = `a batch keeps at most ${MAX_MEMBER_RUNS} runs of members of one (queue, type) in a row: order its jobs by type`;
    return { ...unchanged(state, [{ reason }]), ...base };
  }
  // A record made before members' retries were tracked has no bound: its earlier members' retries are unknown.
  const bounded = state.total === 0 || state.maxRetry !== undefined;
  for (const m of members) {
    if (bounded) s.maxRetry = Math.max(s.maxRetry ?? 0, m.options?.retry ?? 0);
    const last = s.members[s.members.length - 1];
    if (last && last[0] === m.queue && last[1] === m.type) last[2]++;
    else s.members.push([m.queue, m.type, 1]);
  }
  s.total += members.length;
  s.updatedAt = ctx.now;
  if (s.cancelled) {
    // Nothing will run them: count them now so pending + processed == total still holds.
    const bits = Bitmap.decode(s.done);
    for (let i = offset; i < s.total; i++) bits.set(i);
    s.done = bits.encode(s.total);
    s.processed += members.length;
    s.skipped += members.length;
    return {
      next: s,
      effects: [],
      changed: true,
      rejected: [],
      duplicates: 0,
      repeated: false,
      skipPublish: true,
    };
  }
  return { next: s, effects: [], changed: true, rejected: [], duplicates: 0, ...base };
}

export function sealBatch(state: BatchState, total: number, ctx: TransitionContext): Transition<BatchState> {
  if (state.sealed) {
    return state.total === total
      ? unchanged(state)
      : unchanged(state, [{ reason: `batch already sealed with ${state.total} members, not ${total}` }]);
  }
  if (total !== state.total) {
    return unchanged(state, [{ reason: `seal says ${total} members but ${state.total} were appended` }]);
  }
  if (total === 0) return unchanged(state, [{ reason: "a batch needs at least one job" }]);
  const s = clone(state);
  s.sealed = true;
  s.updatedAt = ctx.now;
  return { next: s, effects: completeIfDone(s, ctx), changed: true, rejected: [], duplicates: 0 };
}

function completeIfDone(s: BatchState, ctx: TransitionContext): Effect[] {
  if (s.completed || !s.sealed || s.processed < s.total) return [];
  s.completed = true;
  s.updatedAt = ctx.now;
  // Not cancelled here (a cancel completes the batch itself), so this is success, allowed failures included.
  return [
    event(s, "batch_completed", ctx, undefined, { counts: counts(s) }),
    ...claimCallback(s, "then", ctx),
    ...claimCallback(s, "finally", ctx),
    done(s, "succeeded"),
  ];
}

function counts(s: BatchState) {
  return { total: s.total, pending: s.total - s.processed, processed: s.processed, failed: s.failed };
}

export function applyBatchOutcomes(
  state: BatchState,
  outcomes: readonly MemberOutcome[],
  ctx: TransitionContext,
): Transition<BatchState> {
  const s = clone(state);
  const bits = Bitmap.decode(s.done);
  const rejected: Rejection[] = [];
  const accepted: MemberOutcome[] = [];
  let duplicates = 0;
  let counted = 0;
  let firstFailure: { error: ErrorBody; outcome: MemberOutcome } | null = null;
  const wasCompleted = s.completed;

  for (const o of outcomes) {
    const refused = refusal(s, o);
    if (refused) {
      rejected.push({ reason: refused, outcome: o, refused: true });
      continue;
    }
    if (bits.has(o.index)) {
      duplicates++;
      continue;
    }
    bits.set(o.index);
    accepted.push(o);
    if (o.traceparent && (s.links?.length ?? 0) < MAX_MEMBER_LINKS)
      s.links = [...(s.links ?? []), o.traceparent];
    counted++;
    s.processed++;
    if (o.status === "skipped") s.skipped++;
    if (o.status === "failed") {
      s.failed++;
      // Only the first error is kept, truncated: it is copied into the record, its events and the catch
      // callback, so a 200 KB message must not be (each member's own error stays in its dead letter).
      const error = truncateError(
        o.error ?? { code: "HANDLER_ERROR", message: "job failed", retryable: false },
      );
      if (!s.failure) s.failure = error;
      if (!firstFailure) firstFailure = { error, outcome: o };
    }
  }
  if (counted === 0) return { next: state, effects: [], changed: false, rejected, duplicates, accepted };

  s.done = bits.encode(s.total);
  s.updatedAt = ctx.now;
  const effects: Effect[] = [];
  const failureFields = firstFailure
    ? {
        job_id: firstFailure.outcome.jobId,
        type: firstFailure.outcome.type,
        queue: firstFailure.outcome.queue,
      }
    : {};
  effects.push(
    event(s, "batch_progressed", ctx, s.processed, {
      counts: counts(s),
      ...(firstFailure ? { error: firstFailure.error } : {}),
    }),
  );
  if (firstFailure && !s.completed && !s.allowFailures) {
    effects.push(...cancel(s, s.failure!, ctx, true, failureFields));
  } else if (firstFailure && !s.completed) {
    effects.push(...claimCallback(s, "catch", ctx, s.failure!));
  }
  // Completion is decided first so the last progress call shows the final state; progress still comes first.
  const completion = completeIfDone(s, ctx);
  // Progress after the outcomes are recorded; once the batch has ended, the last call showed the final counts.
  if (s.callbacks.progress && !wasCompleted) {
    s.progressPublished++;
    const jobId = progressJobId(s.id, s.processed);
    effects.push(callbackPublish(s, "progress", s.callbacks.progress, jobId));
  }
  effects.push(...completion);
  return { next: s, effects, changed: true, rejected, duplicates, accepted };
}

function cancel(
  s: BatchState,
  error: ErrorBody,
  ctx: TransitionContext,
  failed: boolean,
  fields: { job_id?: string; type?: string; queue?: string } = {},
): Effect[] {
  s.cancelled = true;
  s.completed = true;
  error = truncateError(error);
  if (!s.failure) s.failure = error;
  s.updatedAt = ctx.now;
  return [
    ...(failed ? [event(s, "batch_failed", ctx, undefined, { ...fields, error, counts: counts(s) })] : []),
    event(s, "batch_cancelled", ctx, undefined, { error, counts: counts(s) }),
    { type: "cancel", batchId: s.id },
    ...failureEffects(s, error, ctx),
  ];
}

/**
 * Cancels a running batch: by hand (`failed: false`), or because a member is lost, no worker serves its type,
 * or its creation was interrupted (`failed: true`). Cancelled and completed become true at once and catch and
 * finally fire now; members not yet started are skipped by workers and counted as they arrive.
 */
export function cancelBatch(
  state: BatchState,
  error: ErrorBody,
  ctx: TransitionContext,
  opts: { failed: boolean },
): Transition<BatchState> {
  if (state.completed) return unchanged(state, [{ reason: "batch already finished" }]);
  const s = clone(state);
  const effects = cancel(s, error, ctx, opts.failed);
  return { next: s, effects, changed: true, rejected: [], duplicates: 0 };
}

/** The (queue, type) pairs that still have members without an outcome, for the lost-member reconciler. */
export function batchPendingTypes(s: BatchState): { queue: string; type: string }[] {
  if (s.completed) return [];
  const bits = Bitmap.decode(s.done);
  const out = new Map<string, { queue: string; type: string }>();
  let index = 0;
  for (const [queue, type, count] of s.members) {
    for (let i = index; i < index + count; i++) {
      if (!bits.has(i)) {
        out.set(`${queue}\u0000${type}`, { queue, type });
        break;
      }
    }
    index += count;
  }
  return [...out.values()];
}

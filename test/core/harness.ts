/**
 * @module
 * Two small harnesses (`ChainRun`, `BatchRun`) that apply transitions to a deep-frozen state (so any mutation
 * of the input throws), check the workflow invariants after every transition (`pending + processed == total`
 * among them), check that each then/catch/finally publication is claimed in the state written with it, and
 * keep the whole effect history so a test can count callbacks and events at the end.
 */
import assert from "node:assert/strict";
import {
  appendMembers,
  applyBatchOutcomes,
  applyChainOutcomes,
  Bitmap,
  batchView,
  cancelBatch,
  chainView,
  createBatch,
  createChain,
  failChain,
  memberJobId,
  nodeJobId,
  sealBatch,
  type AppendResult,
  type BatchState,
  type CallbackSpecs,
  type ChainState,
  type Effect,
  type MemberOutcome,
  type NewBatch,
  type NewChain,
  type Transition,
  type TransitionContext,
} from "../../shared/core/index.ts";
import type { ErrorBody } from "../../shared/protocol/schemas.ts";
import {
  assertUniqueIds,
  callbacksOf,
  deepFreeze,
  err,
  makeCtx,
  spec,
  tally,
  type Tally,
} from "./helpers.ts";

/** A transition that changes nothing returns the very same state and no effects. */
export function assertTransitionShape<S extends ChainState | BatchState>(before: S, t: Transition<S>): void {
  if (!t.changed) {
    assert.equal(t.next, before, "an unchanged transition returns the input state");
    assert.deepEqual(t.effects, [], "an unchanged transition has no effects");
  } else {
    assert.notEqual(t.next, before, "a changed transition returns a new state object");
  }
  assert.ok(t.duplicates >= 0);
  // A then/catch/finally publication is claimed in the very state that is written with it, exactly once.
  for (const p of callbacksOf(t.effects)) {
    const kind = p.item.callback!.kind;
    if (kind === "progress") continue;
    assert.equal(before.claims[kind], undefined, `${kind} was already claimed, yet published again`);
    assert.equal(t.next.claims[kind]?.jobId, p.msgId, `${kind} claim names its job`);
    assert.equal(t.next.claims[kind]?.status, "published");
    assert.equal(p.msgId, `${before.id}_${kind}`);
  }
  for (const kind of ["then", "catch", "finally"] as const) {
    if (t.next.claims[kind] && !before.claims[kind]) {
      assert.equal(callbacksOf(t.effects, kind).length, 1, `${kind} claimed without its publication`);
    }
  }
}

// ------------------------------------------------------------------------------------------------------ chain

export function chainInvariants(s: ChainState): void {
  assert.ok(
    Number.isInteger(s.nextIndex) && s.nextIndex >= 0 && s.nextIndex <= s.nodes.length,
    "nextIndex range",
  );
  assert.equal(s.completed, s.nextIndex === s.nodes.length, "completed ⇔ nextIndex == nodes.length");
  assert.ok(!(s.completed && s.failed), "never both completed and failed");
  assert.equal(s.failed, s.failure !== null, "failed ⇔ failure is set");
  if (s.claims.catch) assert.ok(s.failed, "catch is claimed only on failure");
  if (s.claims.finally) assert.ok(s.completed || s.failed, "finally is claimed only at the end");
  if (s.claims.then) assert.fail("chains have no then callback");
  const v = chainView(s);
  assert.equal(v.next_index, s.nextIndex);
  assert.equal(v.completed, s.completed);
  assert.equal(v.failed, s.failed);
}

export const nodeOk = (chainId: string, index: number): MemberOutcome => ({
  jobId: nodeJobId(chainId, index),
  index,
  status: "succeeded",
});

export const nodeFail = (chainId: string, index: number, error: ErrorBody = err(`node ${index} broke`)) =>
  ({ jobId: nodeJobId(chainId, index), index, status: "failed", error }) as MemberOutcome;

export class ChainRun {
  state: ChainState;
  readonly history: Effect[] = [];
  readonly ctx: TransitionContext;

  constructor(
    types: string[] = ["a", "b", "c"],
    callbacks: NewChain["callbacks"] = { catch: spec("chain:catch"), finally: spec("chain:finally") },
    extra: Partial<NewChain> = {},
    ctx: TransitionContext = makeCtx(),
  ) {
    this.ctx = ctx;
    const t = createChain(
      { id: "c1", dispatchId: "d1", queue: "q", nodes: types.map((t) => spec(t, "q")), callbacks, ...extra },
      ctx,
    );
    chainInvariants(t.next);
    this.state = deepFreeze(t.next);
    this.history.push(...t.effects);
  }

  get id(): string {
    return this.state.id;
  }

  step(fn: (s: ChainState) => Transition<ChainState>): Transition<ChainState> {
    const before = this.state;
    const t = fn(before);
    assertTransitionShape(before, t);
    chainInvariants(t.next);
    this.state = deepFreeze(t.next);
    this.history.push(...t.effects);
    assertUniqueIds(this.history);
    return t;
  }

  apply(...outcomes: MemberOutcome[]): Transition<ChainState> {
    return this.step((s) => applyChainOutcomes(s, outcomes, this.ctx));
  }

  ok(index: number): Transition<ChainState> {
    return this.apply(nodeOk(this.id, index));
  }

  fail(index: number, error?: ErrorBody): Transition<ChainState> {
    return this.apply(nodeFail(this.id, index, error));
  }

  failChain(error: ErrorBody): Transition<ChainState> {
    return this.step((s) => failChain(s, error, this.ctx));
  }

  tally(): Tally {
    return tally(this.history);
  }
}

// ------------------------------------------------------------------------------------------------------ batch

/** The invariants of either workflow kind (for tests that call the core directly, outside a harness). */
export function invariants(s: ChainState | BatchState): void {
  if (s.kind === "chain") chainInvariants(s);
  else batchInvariants(s);
}

export function popcount(b64: string, total: number): number {
  const bits = Bitmap.decode(b64);
  let n = 0;
  for (let i = 0; i < total; i++) if (bits.has(i)) n++;
  return n;
}

export function batchInvariants(s: BatchState, opts: { bitmap?: boolean } = {}): void {
  const v = batchView(s);
  assert.equal(v.pending + v.processed, v.total, "pending + processed == total");
  assert.ok(v.pending >= 0, "pending >= 0");
  assert.ok(s.failed + s.skipped <= s.processed, "failed + skipped <= processed");
  assert.equal(
    s.members.reduce((n, m) => n + m[2], 0),
    s.total,
    "members run-lengths add up to total",
  );
  if (opts.bitmap !== false) assert.equal(popcount(s.done, s.total), s.processed, "bitmap counts processed");
  if (s.cancelled) assert.ok(s.completed, "cancelled ⇒ completed");
  if (s.completed && !s.cancelled) {
    assert.ok(s.sealed, "completed without cancel ⇒ sealed");
    assert.equal(s.processed, s.total, "completed without cancel ⇒ all processed");
  }
  if (s.claims.then) assert.ok(s.completed && !s.cancelled, "then only on success");
  if (s.claims.finally) assert.ok(s.completed, "finally only at completion");
  if (s.claims.catch) assert.ok(s.failed > 0 || s.cancelled, "catch only after a failure or a cancel");
}

export const memberOk = (batchId: string, index: number): MemberOutcome => ({
  jobId: memberJobId(batchId, index),
  index,
  status: "succeeded",
});

export const memberFail = (batchId: string, index: number, error: ErrorBody = err(`member ${index} broke`)) =>
  ({
    jobId: memberJobId(batchId, index),
    index,
    status: "failed",
    error,
    type: "job",
    queue: "q",
  }) as MemberOutcome;

export const memberSkip = (batchId: string, index: number): MemberOutcome => ({
  jobId: memberJobId(batchId, index),
  index,
  status: "skipped",
});

export const ALL_CALLBACKS: CallbackSpecs = {
  then: spec("batch:then"),
  catch: spec("batch:catch"),
  finally: spec("batch:finally"),
  progress: spec("batch:progress"),
};

export interface BatchOpts {
  /** members to append at creation (one chunk); 0 appends nothing */
  members?: number;
  /** seal after appending (default true when members > 0) */
  seal?: boolean;
  allowFailures?: boolean;
  callbacks?: CallbackSpecs;
  extra?: Partial<NewBatch>;
  /** verify the bitmap's popcount after each step (off for huge batches) */
  checkBitmap?: boolean;
}

export class BatchRun {
  state: BatchState;
  readonly history: Effect[] = [];
  readonly ctx: TransitionContext;
  private readonly checkBitmap: boolean;

  constructor(opts: BatchOpts = {}, ctx: TransitionContext = makeCtx()) {
    this.ctx = ctx;
    this.checkBitmap = opts.checkBitmap ?? true;
    const t = createBatch(
      {
        id: "b1",
        dispatchId: "d1",
        name: "nightly",
        queue: "q",
        allowFailures: opts.allowFailures ?? false,
        callbacks: opts.callbacks ?? ALL_CALLBACKS,
        ...opts.extra,
      },
      ctx,
    );
    batchInvariants(t.next);
    this.state = deepFreeze(t.next);
    this.history.push(...t.effects);
    const members = opts.members ?? 3;
    if (members > 0) {
      const r = this.append(0, members);
      assert.deepEqual(r.rejected, []);
      if (opts.seal ?? true) assert.deepEqual(this.seal(members).rejected, []);
    }
  }

  get id(): string {
    return this.state.id;
  }

  get view() {
    return batchView(this.state);
  }

  step<T extends Transition<BatchState>>(fn: (s: BatchState) => T): T {
    const before = this.state;
    const t = fn(before);
    assertTransitionShape(before, t);
    batchInvariants(t.next, { bitmap: this.checkBitmap });
    this.state = deepFreeze(t.next);
    this.history.push(...t.effects);
    assertUniqueIds(this.history);
    return t;
  }

  append(offset: number, members: number | { queue: string; type: string }[], type = "job"): AppendResult {
    const list =
      typeof members === "number" ? Array.from({ length: members }, () => ({ queue: "q", type })) : members;
    return this.step((s) => appendMembers(s, offset, list, this.ctx));
  }

  seal(total: number): Transition<BatchState> {
    return this.step((s) => sealBatch(s, total, this.ctx));
  }

  apply(...outcomes: MemberOutcome[]): Transition<BatchState> {
    return this.step((s) => applyBatchOutcomes(s, outcomes, this.ctx));
  }

  ok(...indexes: number[]): Transition<BatchState> {
    return this.apply(...indexes.map((i) => memberOk(this.id, i)));
  }

  fail(...indexes: number[]): Transition<BatchState> {
    return this.apply(...indexes.map((i) => memberFail(this.id, i)));
  }

  skip(...indexes: number[]): Transition<BatchState> {
    return this.apply(...indexes.map((i) => memberSkip(this.id, i)));
  }

  cancel(error: ErrorBody, failed: boolean): Transition<BatchState> {
    return this.step((s) => cancelBatch(s, error, this.ctx, { failed }));
  }

  tally(): Tally {
    return tally(this.history);
  }
}

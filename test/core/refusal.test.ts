/**
 * @module
 * Outcomes that can never be true are refused by the core, never counted: a member index outside the
 * workflow, another member's job id, a type that is not the member's, an attempt past the job's retries.
 */
import assert from "node:assert/strict";
import { appendMembers, createBatch, sealBatch } from "../../shared/core/batch.ts";
import { createChain } from "../../shared/core/chain.ts";
import { callbackJobId, memberJobId, nodeJobId, progressJobId } from "../../shared/core/ids.ts";
import { callbackRefusal, refusal, type CallbackOutcome } from "../../shared/core/refusal.ts";
import { applyOutcomes } from "../../shared/core/workflow.ts";
import type { BatchState, JobSpec, MemberOutcome } from "../../shared/core/types.ts";
import { describe, it, makeCtx } from "./helpers.ts";

const ctx = makeCtx();
const member = (retry: number): JobSpec => ({ type: "job", queue: "q", payload: null, options: { retry } });

function batch(): BatchState {
  const b = createBatch(
    { id: "b1", dispatchId: "d1", name: "", queue: "q", allowFailures: true, callbacks: {} },
    ctx,
  ).next;
  const a = appendMembers(b, 0, [member(0), member(2), member(1)], ctx).next;
  return sealBatch(a, 3, ctx).next;
}

const out = (o: Partial<MemberOutcome> & { index: number }): MemberOutcome => ({
  jobId: memberJobId("b1", o.index),
  status: "succeeded",
  type: "job",
  queue: "q",
  attempt: 0,
  ...o,
});

describe("refusal", () => {
  const cases: [string, MemberOutcome, RegExp | null][] = [
    ["a member's own outcome", out({ index: 1 }), null],
    ["an attempt within the most retries of the batch", out({ index: 0, attempt: 2 }), null],
    ["an index past the batch", out({ index: 3, jobId: memberJobId("b1", 3) }), /outside the batch/],
    ["a negative index", out({ index: -1 }), /outside the batch/],
    ["another member's job id", out({ index: 0, jobId: memberJobId("b1", 2) }), /is not member 0's/],
    ["another type", out({ index: 0, type: "other" }), /type other/],
    ["an attempt past every retry", out({ index: 0, attempt: 77 }), /attempt 77 exceeds/],
  ];
  for (const [name, o, want] of cases) {
    it(`batch: ${name}`, () => {
      const r = refusal(batch(), o);
      if (want) assert.match(r ?? "", want);
      else assert.equal(r, null);
    });
  }

  it("a batch recorded before retries were tracked keeps no attempt bound when a chunk is appended", () => {
    const created = createBatch(
      { id: "b1", dispatchId: "d1", name: "", queue: "q", allowFailures: true, callbacks: {} },
      ctx,
    ).next;
    const first = appendMembers(created, 0, [member(5)], ctx).next;
    const old: BatchState = { ...first };
    delete old.maxRetry; // as an older coordinator wrote it
    const later = sealBatch(appendMembers(old, 1, [member(0)], ctx).next, 2, ctx).next;
    assert.equal(later.maxRetry, undefined);
    assert.equal(refusal(later, out({ index: 0, attempt: 4 })), null, "member 0 may retry 5 times");
  });

  it("a refused outcome is rejected as refused and counts nothing", () => {
    const s = batch();
    const t = applyOutcomes(s, [out({ index: 0, attempt: 77 }), out({ index: 1 })], ctx);
    assert.equal(t.next.kind === "batch" && t.next.processed, 1);
    assert.equal(t.rejected.length, 1);
    assert.equal(t.rejected[0]!.refused, true);
  });

  it("chain: the node's own retries bound the attempt, and its job id must be the node's", () => {
    const c = createChain(
      {
        id: "c1",
        dispatchId: "d1",
        queue: "q",
        nodes: [member(1), member(0)],
        callbacks: {},
      },
      ctx,
    ).next;
    const node = (o: Partial<MemberOutcome>): MemberOutcome => ({
      jobId: nodeJobId("c1", 0),
      index: 0,
      status: "succeeded",
      attempt: 1,
      ...o,
    });
    assert.equal(refusal(c, node({})), null);
    assert.match(refusal(c, node({ attempt: 2 })) ?? "", /exceeds the job's 1 retries/);
    assert.match(refusal(c, node({ jobId: "x" })) ?? "", /is not node 0's/);
    assert.match(refusal(c, node({ index: 5 })) ?? "", /outside the chain/);
  });
});

describe("callbackRefusal", () => {
  const cb = (type: string, retry: number): JobSpec => ({
    type,
    queue: "q",
    payload: null,
    options: { retry },
  });
  const withCallbacks = (): BatchState => {
    const b = createBatch(
      {
        id: "b2",
        dispatchId: "d2",
        name: "",
        queue: "q",
        allowFailures: true,
        callbacks: { then: cb("on-then", 1), finally: cb("on-finally", 0), progress: cb("on-progress", 0) },
      },
      ctx,
    ).next;
    const a = appendMembers(b, 0, [member(0), member(0)], ctx).next;
    const s = sealBatch(a, 2, ctx).next;
    return applyOutcomes(s, [out({ index: 0, jobId: memberJobId("b2", 0) })], ctx).next as BatchState;
  };
  const call = (o: Partial<CallbackOutcome> & { kind: CallbackOutcome["kind"] }): CallbackOutcome => ({
    jobId: o.kind === "progress" ? progressJobId("b2", 1) : callbackJobId("b2", o.kind),
    attempt: 0,
    type: `on-${o.kind}`,
    queue: "q",
    ...o,
  });
  const cases: [string, CallbackOutcome, RegExp | null][] = [
    ["then's own outcome", call({ kind: "then" }), null],
    ["then's last retry", call({ kind: "then", attempt: 1 }), null],
    ["a progress call the batch made", call({ kind: "progress" }), null],
    ["then past its retries", call({ kind: "then", attempt: 2 }), /exceeds the job's 1 retries/],
    ["finally past its retries", call({ kind: "finally", attempt: 1 }), /exceeds the job's 0 retries/],
    ["a callback the batch lacks", call({ kind: "catch" }), /has no catch callback/],
    ["another job's id", call({ kind: "then", jobId: callbackJobId("b2", "finally") }), /is not the then/],
    ["another batch's id", call({ kind: "then", jobId: callbackJobId("b9", "then") }), /is not the then/],
    ["a progress count not reached", call({ kind: "progress", jobId: progressJobId("b2", 2) }), /progress/],
    ["a progress id that is not one", call({ kind: "progress", jobId: "b2_progress01" }), /progress/],
    ["another type", call({ kind: "then", type: "other" }), /type other/],
  ];
  for (const [name, o, expected] of cases)
    it(name, () => {
      const reason = callbackRefusal(withCallbacks(), o);
      if (expected === null) assert.equal(reason, null);
      else assert.match(reason ?? "", expected);
    });
});

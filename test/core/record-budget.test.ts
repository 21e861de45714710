/**
 * @module
 * A workflow record (with the outbox its transition writes beside it) stays within budget whatever its members
 * fail with: only the first error is kept, truncated, and failures are counted.
 */
import assert from "node:assert/strict";
import { appendMembers, createBatch, sealBatch } from "../../shared/core/batch.ts";
import { applyChainOutcomes, createChain } from "../../shared/core/chain.ts";
import { memberJobId, nodeJobId } from "../../shared/core/ids.ts";
import { STORED_ERROR_BYTES } from "../../shared/core/truncate.ts";
import { applyOutcomes, failWorkflow } from "../../shared/core/workflow.ts";
import {
  completionOverBudget,
  completionReserveBytes,
  WORKFLOW_RECORD_BYTES,
  withoutUnclaimedCallbacks,
} from "../../shared/core/record-budget.ts";
import type { Effect, JobSpec, WorkflowState } from "../../shared/core/types.ts";
import { ALL_CALLBACKS } from "./harness.ts";
import { describe, it, makeCtx } from "./helpers.ts";

const ctx = makeCtx();
const member: JobSpec = { type: "job", queue: "q", payload: null, options: {} };
const huge = { code: "PERMANENT", message: "e".repeat(200_000), retryable: false };
const bytes = (s: WorkflowState, effects: Effect[]) => Buffer.byteLength(JSON.stringify({ s, effects }));

describe("workflow records within their byte budget", () => {
  for (const allowFailures of [true, false]) {
    it(`a batch of 10 members failing with 200 KB errors (allowFailures: ${allowFailures})`, () => {
      let s: WorkflowState = createBatch(
        { id: "b1", dispatchId: "d1", name: "", queue: "q", allowFailures, callbacks: ALL_CALLBACKS },
        ctx,
      ).next;
      s = appendMembers(s, 0, Array(10).fill(member), ctx).next;
      s = sealBatch(s, 10, ctx).next;
      let largest = 0;
      for (let i = 0; i < 10; i++) {
        const t = applyOutcomes(
          s,
          [{ jobId: memberJobId("b1", i), index: i, status: "failed", error: huge, attempt: 0 }],
          ctx,
        );
        s = t.next;
        largest = Math.max(largest, bytes(s, t.effects));
      }
      assert.ok(s.kind === "batch" && s.processed === 10 && s.failed === 10 && s.completed);
      assert.ok(s.failure && Buffer.byteLength(s.failure.message) <= STORED_ERROR_BYTES);
      assert.match(s.failure.message, /…\[truncated \d+ bytes\]$/);
      assert.ok(largest < 16 * STORED_ERROR_BYTES, `record + outbox ${largest} bytes`);
    });
  }

  it("a chain failing with a 200 KB error", () => {
    const c = createChain(
      { id: "c1", dispatchId: "d1", queue: "q", nodes: [member, member], callbacks: ALL_CALLBACKS },
      ctx,
    ).next;
    const t = applyChainOutcomes(
      c,
      [{ jobId: nodeJobId("c1", 0), index: 0, status: "failed", error: huge, attempt: 0 }],
      ctx,
    );
    assert.ok(t.next.failed);
    assert.ok(bytes(t.next, t.effects) < 8 * STORED_ERROR_BYTES, `${bytes(t.next, t.effects)} bytes`);
  });
});

describe("a batch's member runs are bounded", () => {
  it("an append that would keep more than 8192 (queue, type) runs is refused, changing nothing", () => {
    let s = createBatch(
      { id: "b2", dispatchId: "d2", name: "", queue: "q", allowFailures: false, callbacks: {} },
      ctx,
    ).next;
    const alternating = Array.from({ length: 9_000 }, (_, i) => ({ ...member, type: i % 2 ? "a" : "b" }));
    const t = appendMembers(s, 0, alternating, ctx);
    assert.match(t.rejected[0]?.reason ?? "", /at most 8192 runs/);
    assert.equal(t.changed, false);
    s = appendMembers(s, 0, Array(9_000).fill(member), ctx).next;
    assert.equal(s.members.length, 1, "members of one type in a row are one run");
  });
});

describe("a workflow whose finishing write would be over budget is refused up front", () => {
  const withCallbacks = (payloadBytes: number): WorkflowState => {
    const cb = (type: string): JobSpec => ({
      type,
      queue: "q",
      payload: "p".repeat(payloadBytes),
      options: {},
    });
    let s: WorkflowState = createBatch(
      {
        id: "b2",
        dispatchId: "d2",
        name: "",
        queue: "q",
        allowFailures: false,
        callbacks: { then: cb("then"), catch: cb("catch"), finally: cb("finally") },
      },
      ctx,
    ).next;
    s = appendMembers(s, 0, [member, member], ctx).next;
    return sealBatch(s, 2, ctx).next;
  };
  const finish = (s: WorkflowState, status: "succeeded" | "failed") =>
    applyOutcomes(
      s,
      [0, 1].map((i) => ({
        jobId: memberJobId("b2", i),
        index: i,
        status,
        attempt: 0,
        ...(status === "failed" ? { error: huge } : {}),
      })),
      ctx,
    );

  it("then and finally of 260 KB each: accepted at 525 KB before, 1 MB at completion; refused now", () => {
    const s = withCallbacks(260_000);
    assert.ok(Buffer.byteLength(JSON.stringify(s)) < WORKFLOW_RECORD_BYTES);
    assert.ok(bytes(finish(s, "succeeded").next, finish(s, "succeeded").effects) > WORKFLOW_RECORD_BYTES);
    const over = completionOverBudget(s);
    assert.ok(over && over.size > WORKFLOW_RECORD_BYTES && over.limit === WORKFLOW_RECORD_BYTES);
    assert.match(over.reason, /callbacks/);
  });

  for (const status of ["succeeded", "failed"] as const)
    it(`the reserve bounds the real completion write (${status}, 100 KB callbacks)`, () => {
      const s = withCallbacks(100_000);
      assert.equal(completionOverBudget(s), null);
      const t = finish(s, status);
      assert.ok(t.next.kind === "batch" && t.next.completed);
      const limit = Buffer.byteLength(JSON.stringify(s)) + completionReserveBytes(s);
      assert.ok(bytes(t.next, t.effects) <= limit, `${bytes(t.next, t.effects)} > ${limit}`);
    });

  it("failing it without its unclaimed callbacks leaves a small record", () => {
    const s = withCallbacks(260_000);
    const t = failWorkflow(withoutUnclaimedCallbacks(s), huge, ctx);
    assert.ok(t.changed && t.next.kind === "batch" && t.next.completed);
    assert.ok(bytes(t.next, t.effects) < 8 * STORED_ERROR_BYTES, `${bytes(t.next, t.effects)} bytes`);
    assert.ok(!t.effects.some((e) => e.type === "publish"));
  });
});

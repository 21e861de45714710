/**
 * @module
 * Batch outcome transitions of the pure core: completion, allowFailures in every order, fail-fast cancel,
 * duplicates and contradictions, unknown members. `BatchRun` checks `pending + processed == total` (and the
 * other invariants) after every transition. Ports the Go `bus` package's batch store-contract tests.
 */
import assert from "node:assert/strict";
import { applyBatchOutcomes, batchView, type MemberOutcome } from "../../shared/core/index.ts";
import { batchInvariants, BatchRun, memberFail, memberOk } from "./harness.ts";
import {
  callbackKinds,
  callbacksOf,
  cancelsOf,
  describe,
  doneOf,
  err,
  eventKinds,
  eventsOf,
  it,
  makeCtx,
  permutations,
  spec,
} from "./helpers.ts";

describe("batch: creation", () => {
  it("starts empty, unsealed, with batch_started", () => {
    const run = new BatchRun({ members: 0 });
    assert.deepEqual(eventKinds(run.history), ["batch_started"]);
    const e = eventsOf(run.history)[0]!;
    assert.equal(e.id, "b1.batch_started");
    assert.equal(e.batch_id, "b1");
    assert.equal(e.dispatch_id, "d1");
    assert.equal(e.queue, "q");
    const v = run.view;
    assert.deepEqual(
      [v.total, v.pending, v.processed, v.failed, v.skipped, v.sealed, v.completed, v.cancelled],
      [0, 0, 0, 0, 0, false, false, false],
    );
    assert.equal(run.state.done, "");
  });
});

describe("batch: all members succeed", () => {
  it("completes with batch_completed, then + finally once each (bus TestBatchTracksCompletion)", () => {
    const run = new BatchRun({ members: 3 });
    run.ok(0);
    run.ok(2);
    assert.equal(run.state.completed, false);
    const last = run.ok(1);
    assert.deepEqual(eventKinds(last.effects), ["batch_progressed", "batch_completed"]);
    assert.deepEqual(callbackKinds(last.effects), ["progress", "then", "finally"]);
    assert.deepEqual(doneOf(last.effects), [{ type: "done", kind: "batch", id: "b1", status: "succeeded" }]);
    const completed = eventsOf(last.effects)[1]!;
    assert.equal(completed.id, "b1.batch_completed");
    assert.deepEqual(completed.counts, { total: 3, pending: 0, processed: 3, failed: 0 });
    const v = run.view;
    assert.deepEqual([v.completed, v.cancelled, v.processed, v.pending, v.failed], [true, false, 3, 0, 0]);
    const t = run.tally();
    assert.deepEqual(t.callbacks, { progress: 3, then: 1, finally: 1 });
    assert.deepEqual(t.events, { batch_started: 1, batch_progressed: 3, batch_completed: 1 });
    assert.equal(t.cancels, 0);
    const then = callbacksOf(run.history, "then")[0]!;
    assert.equal(then.msgId, "b1_then");
    assert.equal(then.item.spec.type, "batch:then");
    assert.deepEqual(then.item.callback?.state, batchView(run.state), "then sees the final state");
    assert.equal(callbacksOf(run.history, "finally")[0]!.msgId, "b1_finally");
    assert.deepEqual(Object.keys(run.state.claims).sort(), ["finally", "then"]);
  });

  it("all members in one group complete at once", () => {
    const run = new BatchRun({ members: 5 });
    const t = run.ok(4, 3, 2, 1, 0);
    assert.equal(run.state.completed, true);
    assert.deepEqual(callbackKinds(t.effects), ["progress", "then", "finally"]);
  });

  it("a member that succeeds after unreported retries counts as one success (bus TestPublicBatchWaitsForTerminalAttempt)", () => {
    const run = new BatchRun({ members: 1 });
    run.ok(0);
    assert.deepEqual([run.view.failed, run.view.processed, run.view.completed], [0, 1, true]);
  });

  it("without callbacks completion only emits events and done", () => {
    const run = new BatchRun({ members: 2, callbacks: {} });
    run.ok(0, 1);
    assert.equal(callbacksOf(run.history).length, 0);
    assert.equal(doneOf(run.history).length, 1);
    assert.deepEqual(run.state.claims, {});
  });
});

type Status = "succeeded" | "failed";
/** Every status assignment of a 3-member batch with at least one failure. */
const ASSIGNMENTS: Status[][] = [];
for (let mask = 1; mask < 8; mask++)
  ASSIGNMENTS.push([0, 1, 2].map((i) => (mask & (1 << i) ? "failed" : "succeeded")));
const ORDERS = permutations([0, 1, 2]);
const outcome = (batchId: string, status: Status, i: number): MemberOutcome =>
  status === "failed" ? memberFail(batchId, i) : memberOk(batchId, i);

describe("batch: allowFailures, every order (bus TestAllowFailuresBatchCompletesIndependentOfFailureOrder)", () => {
  for (const statuses of ASSIGNMENTS) {
    for (const order of ORDERS) {
      it(`${statuses.map((s) => s[0]).join("")} in order ${order.join("")}, one outcome per group`, () => {
        const run = new BatchRun({ members: 3, allowFailures: true });
        const firstFailure = order.find((i) => statuses[i] === "failed")!;
        for (const i of order) {
          const t = run.apply(outcome(run.id, statuses[i]!, i));
          // catch is published in the very transition that records the first failure
          assert.equal(callbacksOf(t.effects, "catch").length, i === firstFailure ? 1 : 0);
          if (i === firstFailure) {
            assert.deepEqual(
              callbacksOf(t.effects, "catch")[0]!.item.callback!.error,
              err(`member ${i} broke`),
            );
          }
        }
        const failures = statuses.filter((s) => s === "failed").length;
        const t = run.tally();
        assert.deepEqual(
          [t.callbacks.catch, t.callbacks.then, t.callbacks.finally, t.callbacks.progress],
          [1, 1, 1, 3],
        );
        assert.equal(t.events.batch_failed, undefined);
        assert.equal(t.events.batch_cancelled, undefined);
        assert.equal(t.events.batch_completed, 1);
        assert.equal(t.events.batch_progressed, 3);
        assert.equal(
          eventsOf(run.history).filter((e) => e.kind === "batch_progressed" && e.error).length,
          failures,
          "one batch_progressed with an error per failure",
        );
        assert.equal(t.cancels, 0);
        assert.deepEqual(t.done, [{ status: "succeeded" }]);
        const v = run.view;
        assert.deepEqual(
          [v.total, v.pending, v.processed, v.failed, v.completed, v.cancelled],
          [3, 0, 3, failures, true, false],
        );
        assert.deepEqual(v.failure, err(`member ${firstFailure} broke`), "the first failure is kept");
        // catch comes before then and finally in the history
        const kinds = callbackKinds(run.history).filter((k) => k !== "progress");
        assert.deepEqual(kinds, ["catch", "then", "finally"]);
      });
    }
  }

  for (const statuses of ASSIGNMENTS) {
    it(`${statuses.map((s) => s[0]).join("")} all in one group`, () => {
      const run = new BatchRun({ members: 3, allowFailures: true });
      const t = run.apply(...statuses.map((s, i) => outcome(run.id, s, i)));
      assert.deepEqual(callbackKinds(t.effects), ["catch", "progress", "then", "finally"]);
      assert.equal(eventKinds(t.effects).includes("batch_failed"), false);
      assert.deepEqual(run.view.failed, statuses.filter((s) => s === "failed").length);
    });
  }

  it("bus BatchAllowFailuresContinues: fail, success, success → done, failed 1, processed 3, pending 0", () => {
    const run = new BatchRun({ members: 3, allowFailures: true });
    run.fail(0);
    assert.equal(run.state.completed, false);
    run.ok(1);
    run.ok(2);
    assert.deepEqual(
      [run.view.completed, run.view.failed, run.view.processed, run.view.pending],
      [true, 1, 3, 0],
    );
  });
});

describe("batch: a failure without allowFailures cancels", () => {
  it("cancels at once: cancelled + completed, batch_failed + batch_cancelled, cancel, catch + finally, never then", () => {
    const run = new BatchRun({ members: 4 });
    run.ok(0);
    const boom = err("member 1 broke");
    const t = run.fail(1);
    assert.deepEqual(eventKinds(t.effects), ["batch_progressed", "batch_failed", "batch_cancelled"]);
    const [progressed, failed, cancelled] = eventsOf(t.effects);
    assert.deepEqual(progressed!.error, boom);
    assert.equal(failed!.id, "b1.batch_failed");
    assert.equal(failed!.job_id, "b1_m1");
    assert.deepEqual(failed!.error, boom);
    assert.equal(cancelled!.id, "b1.batch_cancelled");
    assert.deepEqual(cancelled!.counts, { total: 4, pending: 2, processed: 2, failed: 1 });
    assert.deepEqual(cancelsOf(t.effects), [{ type: "cancel", batchId: "b1" }]);
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally", "progress"]);
    assert.deepEqual(callbacksOf(t.effects, "catch")[0]!.item.callback!.error, boom);
    assert.deepEqual(doneOf(t.effects), [
      { type: "done", kind: "batch", id: "b1", status: "failed", error: boom },
    ]);
    const v = run.view;
    assert.deepEqual([v.cancelled, v.completed, v.failed, v.processed, v.pending], [true, true, 1, 2, 2]);
    assert.deepEqual(v.failure, boom);
  });

  it("bus BatchTerminalBehavior / TestBatchFailFastEmitsCancelled: one failing member of one", () => {
    const run = new BatchRun({ members: 1 });
    run.fail(0);
    assert.deepEqual([run.view.completed, run.view.cancelled, run.view.failed], [true, true, 1]);
    assert.equal(run.tally().events.batch_cancelled, 1);
    assert.equal(run.tally().callbacks.then, undefined);
  });

  it("later outcomes are still counted but fire nothing terminal", () => {
    const run = new BatchRun({ members: 5 });
    run.fail(2);
    const afterCancel = run.history.length;
    const steps: [string, () => unknown][] = [
      ["success", () => run.ok(0)],
      ["second failure", () => run.fail(1)],
      ["skipped member", () => run.skip(3)],
      ["last member", () => run.ok(4)],
    ];
    let processed = run.view.processed;
    for (const [name, step] of steps) {
      step();
      assert.equal(run.view.processed, processed + 1, `${name}: processed grows`);
      assert.equal(run.view.pending, 5 - processed - 1, `${name}: pending shrinks`);
      processed++;
    }
    const later = run.history.slice(afterCancel);
    assert.deepEqual(
      [...new Set(eventKinds(later))],
      ["batch_progressed"],
      "only progress events after the cancel",
    );
    assert.equal(callbacksOf(later).length, 0, "no callbacks (not even progress) after completion");
    assert.equal(doneOf(later).length, 0);
    assert.equal(cancelsOf(later).length, 0);
    const t = run.tally();
    assert.deepEqual([t.callbacks.catch, t.callbacks.finally, t.callbacks.then], [1, 1, undefined]);
    assert.deepEqual(
      [t.events.batch_failed, t.events.batch_cancelled, t.events.batch_completed],
      [1, 1, undefined],
    );
    assert.deepEqual([run.view.processed, run.view.pending, run.view.failed, run.view.skipped], [5, 0, 2, 1]);
    assert.deepEqual(run.view.failure, err("member 2 broke"), "the first cause is kept");
  });

  it("several failures in one group cancel once, with the first failure as cause", () => {
    const run = new BatchRun({ members: 3 });
    const t = run.fail(2, 0);
    assert.equal(eventKinds(t.effects).filter((k) => k === "batch_cancelled").length, 1);
    assert.equal(callbacksOf(t.effects, "catch").length, 1);
    assert.deepEqual(run.view.failure, err("member 2 broke"));
    assert.equal(eventsOf(t.effects).find((e) => e.kind === "batch_failed")!.job_id, "b1_m2");
    assert.equal(run.view.failed, 2);
  });

  it("the last member failing cancels (not completes) the batch: no then, no batch_completed", () => {
    const run = new BatchRun({ members: 2 });
    run.ok(0);
    const t = run.fail(1);
    assert.deepEqual(eventKinds(t.effects), ["batch_progressed", "batch_failed", "batch_cancelled"]);
    assert.deepEqual(run.tally().callbacks, { progress: 2, catch: 1, finally: 1 });
    assert.deepEqual(run.tally().done, [{ status: "failed", error: err("member 1 broke") }]);
  });

  for (const order of ORDERS) {
    it(`one failure among three, order ${order.join("")}: catch + finally once, then never`, () => {
      const run = new BatchRun({ members: 3 });
      for (const i of order) run.apply(outcome(run.id, i === 1 ? "failed" : "succeeded", i));
      const t = run.tally();
      assert.deepEqual([t.callbacks.catch, t.callbacks.finally, t.callbacks.then], [1, 1, undefined]);
      assert.deepEqual([t.events.batch_cancelled, t.events.batch_completed], [1, undefined]);
      assert.deepEqual([run.view.processed, run.view.pending, run.view.cancelled], [3, 0, true]);
    });
  }
});

describe("batch: duplicates never count twice", () => {
  it("the same outcome twice in one group (bus BatchDuplicateTerminalUpdateDoesNotDoubleCount)", () => {
    const run = new BatchRun({ members: 3 });
    const t = run.ok(0, 0);
    assert.equal(t.duplicates, 1);
    assert.equal(run.view.processed, 1);
    assert.equal(eventsOf(t.effects).filter((e) => e.kind === "batch_progressed").length, 1);
  });

  it("the same outcome again in a later group changes nothing", () => {
    const run = new BatchRun({ members: 3 });
    run.ok(0);
    const t = run.ok(0);
    assert.equal(t.changed, false);
    assert.equal(t.duplicates, 1);
    assert.equal(run.view.processed, 1);
  });

  it("a success after a failure of the same member is ignored (bus DuplicateSuccessCannotBecomeFailure)", () => {
    for (const allowFailures of [true, false]) {
      const run = new BatchRun({ members: 2, allowFailures });
      run.fail(0);
      const t = run.ok(0);
      assert.equal(t.changed, false);
      assert.equal(t.duplicates, 1);
      assert.deepEqual([run.view.failed, run.view.processed], [1, 1]);
    }
  });

  it("a failure after a success of the same member is ignored and does not cancel", () => {
    const run = new BatchRun({ members: 2 });
    run.ok(0);
    const t = run.fail(0);
    assert.equal(t.duplicates, 1);
    assert.equal(run.view.cancelled, false);
    assert.equal(run.view.failed, 0);
  });

  it("duplicates of every member after completion change nothing and fire nothing", () => {
    const run = new BatchRun({ members: 3, allowFailures: true });
    run.ok(0);
    run.fail(1);
    run.ok(2);
    const before = run.history.length;
    const t = run.apply(
      memberOk(run.id, 0),
      memberFail(run.id, 1),
      memberFail(run.id, 2),
      memberOk(run.id, 1),
    );
    assert.equal(t.duplicates, 4);
    assert.equal(t.changed, false);
    assert.equal(run.history.length, before);
  });

  it("a mixed group: new outcomes counted, duplicates counted as duplicates, unknown rejected", () => {
    const run = new BatchRun({ members: 4 });
    run.ok(0);
    const t = run.apply(memberOk(run.id, 0), memberOk(run.id, 1), memberOk(run.id, 9), memberOk(run.id, 1));
    assert.equal(t.duplicates, 2);
    assert.equal(t.rejected.length, 1);
    assert.equal(run.view.processed, 2);
  });
});

describe("batch: unknown members are rejected (bus BatchStartRejectsUnknownMember)", () => {
  const cases: [string, number][] = [
    ["negative", -1],
    ["fraction", 1.5],
    ["NaN", Number.NaN],
    ["== total", 3],
    ["> total", 1_000],
  ];
  for (const [name, index] of cases) {
    it(`${name} index`, () => {
      const run = new BatchRun({ members: 3 });
      const t = run.apply({ jobId: "b1_mx", index, status: "succeeded" });
      assert.equal(t.changed, false);
      assert.equal(t.rejected.length, 1);
      assert.equal(t.rejected[0]!.outcome?.index, index);
      assert.equal(run.view.processed, 0);
    });
  }

  it("a member beyond the appended ones, before seal", () => {
    const run = new BatchRun({ members: 2, seal: false });
    assert.equal(run.ok(2).rejected.length, 1);
  });
});

describe("batch: purity", () => {
  it("does not mutate its input and is deterministic", () => {
    const run = new BatchRun({ members: 3 });
    const snapshot = structuredClone(run.state);
    const outcomes = [memberOk(run.id, 0), memberFail(run.id, 1)];
    const a = applyBatchOutcomes(run.state, outcomes, makeCtx());
    const b = applyBatchOutcomes(run.state, outcomes, makeCtx());
    batchInvariants(a.next);
    assert.deepEqual(a, b);
    assert.deepEqual(run.state, snapshot);
  });

  it("callbacks carry the batch's spec, dispatch id and trace", () => {
    const run = new BatchRun({
      members: 1,
      callbacks: { then: spec("t", "cbq") },
      extra: { traceparent: "00-t-s-01", tracestate: "a=b" },
    });
    run.ok(0);
    const then = callbacksOf(run.history, "then")[0]!;
    assert.deepEqual(then.item.spec, spec("t", "cbq"));
    assert.equal(then.item.dispatchId, "d1");
    assert.equal(then.item.traceparent, "00-t-s-01");
    assert.equal(then.item.tracestate, "a=b");
    assert.deepEqual(then.item.callback?.workflow, "batch");
    assert.deepEqual(then.item.callback?.workflowId, "b1");
    for (const e of eventsOf(run.history)) assert.equal(e.traceparent, "00-t-s-01");
  });
});

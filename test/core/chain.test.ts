/**
 * @module
 * Chain transitions of the pure core: node n+1 only after node n succeeded, terminal failures only, first cause
 * wins, catch then finally once, duplicates and contradictions ignored, stale/future/unknown nodes rejected
 * (those last two in `chain-duplicates.test.ts`).
 * Ports the Go `bus` package's chain store-contract and retry-contract tests.
 */
import assert from "node:assert/strict";
import { createChain, nodeJobId } from "../../shared/core/index.ts";
import { ChainRun, nodeFail, nodeOk } from "./harness.ts";
import {
  callbackKinds,
  callbacksOf,
  describe,
  doneOf,
  err,
  eventKinds,
  eventsOf,
  it,
  makeCtx,
  publishesOf,
  spec,
} from "./helpers.ts";

describe("chain: creation", () => {
  it("emits chain_started and publishes only node 0, with deterministic ids", () => {
    const run = new ChainRun(["a", "b", "c"]);
    assert.deepEqual(eventKinds(run.history), ["chain_started"]);
    const started = eventsOf(run.history)[0]!;
    assert.equal(started.id, "c1.chain_started");
    assert.equal(started.at, 1_000);
    assert.equal(started.chain_id, "c1");
    assert.equal(started.dispatch_id, "d1");
    assert.equal(started.type, "a");
    assert.equal(started.queue, "q");
    const pubs = publishesOf(run.history);
    assert.equal(pubs.length, 1);
    assert.equal(pubs[0]!.msgId, "c1_n0");
    assert.equal(pubs[0]!.item.jobId, nodeJobId("c1", 0));
    assert.deepEqual(pubs[0]!.item.chain, { id: "c1", index: 0 });
    assert.equal(pubs[0]!.item.spec.type, "a");
    assert.equal(pubs[0]!.item.dispatchId, "d1");
    const s = run.state;
    assert.equal(s.nextIndex, 0);
    assert.equal(s.completed, false);
    assert.equal(s.failed, false);
    assert.equal(s.failure, null);
    assert.deepEqual(s.claims, {});
    assert.equal(s.createdAt, 1_000);
    assert.equal(s.updatedAt, 1_000);
  });

  it("rejects a chain with no nodes", () => {
    assert.throws(
      () => createChain({ id: "c0", dispatchId: "d", queue: "q", nodes: [], callbacks: {} }, makeCtx()),
      RangeError,
    );
  });

  it("carries the dispatch's trace context onto node jobs, callbacks and events", () => {
    const run = new ChainRun(["a", "b"], undefined, { traceparent: "00-abc-def-01", tracestate: "k=v" });
    run.ok(0);
    run.fail(1);
    for (const p of publishesOf(run.history)) {
      assert.equal(p.item.traceparent, "00-abc-def-01");
      assert.equal(p.item.tracestate, "k=v");
    }
    for (const e of eventsOf(run.history)) assert.equal(e.traceparent, "00-abc-def-01");
  });

  it("creation is pure: the same input gives the same transition", () => {
    const input = { id: "c", dispatchId: "d", queue: "q", nodes: [spec("a")], callbacks: {} };
    assert.deepEqual(createChain(input, makeCtx()), createChain(input, makeCtx()));
  });
});

describe("chain: advancing", () => {
  it("publishes node n+1 only after node n succeeded, then completes with finally (bus ChainAdvanceIdempotent)", () => {
    const run = new ChainRun(["a", "b", "c"]);
    const t0 = run.ok(0);
    assert.equal(t0.changed, true);
    assert.deepEqual(eventKinds(t0.effects), ["chain_advanced"]);
    assert.equal(eventsOf(t0.effects)[0]!.id, "c1.chain_advanced.0");
    assert.equal(eventsOf(t0.effects)[0]!.job_id, "c1_n0");
    assert.deepEqual(
      publishesOf(t0.effects).map((p) => [p.msgId, p.item.chain]),
      [["c1_n1", { id: "c1", index: 1 }]],
    );
    assert.equal(run.state.nextIndex, 1);

    // A duplicate success of the same node: no advance, no publication (idempotent per node).
    const dup = run.ok(0);
    assert.equal(dup.changed, false);
    assert.equal(dup.duplicates, 1);
    assert.equal(run.state.nextIndex, 1);

    run.ok(1);
    const last = run.ok(2);
    assert.deepEqual(eventKinds(last.effects), ["chain_completed"]);
    assert.deepEqual(callbackKinds(last.effects), ["finally"]);
    assert.deepEqual(doneOf(last.effects), [{ type: "done", kind: "chain", id: "c1", status: "succeeded" }]);
    assert.equal(run.state.completed, true);
    assert.equal(run.state.nextIndex, 3);

    const t = run.tally();
    assert.deepEqual(t.events, { chain_started: 1, chain_advanced: 2, chain_completed: 1 });
    assert.deepEqual(t.callbacks, { finally: 1 });
    assert.deepEqual(
      publishesOf(run.history).map((p) => p.msgId),
      ["c1_n0", "c1_n1", "c1_n2", "c1_finally"],
    );
  });

  it("a success after unreported retries completes the chain (bus TestPublicChainWaitsForTerminalAttempt)", () => {
    // Attempt 0 failed but was not terminal: the worker never reports it. Attempt 1 succeeds.
    const run = new ChainRun(["only"]);
    run.ok(0);
    const t = run.tally();
    assert.equal(run.state.completed, true);
    assert.equal(run.state.failed, false);
    assert.equal(t.callbacks.catch, undefined);
    assert.equal(t.callbacks.finally, 1);
    assert.equal(t.events.chain_failed, undefined);
    assert.equal(t.events.chain_completed, 1);
  });

  it("a single-node chain completes with no chain_advanced", () => {
    const run = new ChainRun(["only"]);
    const t = run.ok(0);
    assert.deepEqual(eventKinds(t.effects), ["chain_completed"]);
    assert.equal(eventsOf(t.effects)[0]!.id, "c1.chain_completed");
  });

  it("applies several in-order outcomes in one group", () => {
    const run = new ChainRun(["a", "b", "c"]);
    const t = run.apply(nodeOk("c1", 0), nodeOk("c1", 1), nodeOk("c1", 2));
    assert.deepEqual(eventKinds(t.effects), ["chain_advanced", "chain_advanced", "chain_completed"]);
    assert.equal(run.state.completed, true);
    assert.equal(t.duplicates, 0);
  });

  it("without a finally callback completion publishes nothing but still reports done", () => {
    const run = new ChainRun(["a"], {});
    const t = run.ok(0);
    assert.equal(callbacksOf(t.effects).length, 0);
    assert.equal(doneOf(t.effects).length, 1);
    assert.deepEqual(run.state.claims, {});
  });
});

describe("chain: failure", () => {
  it("a terminal failure fails the chain: chain_failed, catch (with error) then finally, done failed", () => {
    const run = new ChainRun(["a", "b", "c"]);
    run.ok(0);
    const boom = err("b exploded");
    const t = run.fail(1, boom);
    assert.deepEqual(eventKinds(t.effects), ["chain_failed"]);
    const failed = eventsOf(t.effects)[0]!;
    assert.equal(failed.id, "c1.chain_failed");
    assert.deepEqual(failed.error, boom);
    assert.equal(failed.job_id, "c1_n1");
    assert.equal(failed.type, "b");
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"], "catch before finally");
    const [catchPub, finallyPub] = callbacksOf(t.effects);
    assert.equal(catchPub!.msgId, "c1_catch");
    assert.deepEqual(catchPub!.item.callback!.error, boom);
    assert.equal(catchPub!.item.callback!.workflow, "chain");
    assert.equal(catchPub!.item.callback!.workflowId, "c1");
    assert.equal(catchPub!.item.spec.type, "chain:catch");
    assert.equal(finallyPub!.msgId, "c1_finally");
    assert.equal(finallyPub!.item.callback!.error, undefined, "finally carries no error");
    const view = catchPub!.item.callback!.state;
    assert.equal(view.kind, "chain");
    assert.equal(view.kind === "chain" && view.failed, true, "callbacks see the failed state");
    assert.deepEqual(doneOf(t.effects), [
      { type: "done", kind: "chain", id: "c1", status: "failed", error: boom },
    ]);
    assert.equal(run.state.failed, true);
    assert.equal(run.state.nextIndex, 1, "nextIndex stays at the failed node");
    assert.deepEqual(run.state.failure, boom);
    assert.deepEqual(Object.keys(run.state.claims).sort(), ["catch", "finally"]);
    assert.equal(run.state.claims.catch!.status, "published");
    assert.equal(run.state.claims.catch!.jobId, "c1_catch");
  });

  it("later nodes never run after a failure (bus TestChainStopsOnFailureAndRunsCallbacksOnce)", () => {
    const run = new ChainRun(["poll", "downsample", "alert"]);
    run.ok(0);
    run.fail(1);
    run.ok(1); // contradictory duplicate
    run.fail(1); // duplicate failure
    const nodes = publishesOf(run.history).filter((p) => p.item.chain);
    assert.deepEqual(
      nodes.map((p) => p.item.spec.type),
      ["poll", "downsample"],
    );
    const t = run.tally();
    assert.deepEqual(t.callbacks, { catch: 1, finally: 1 });
    assert.deepEqual(t.events, { chain_started: 1, chain_advanced: 1, chain_failed: 1 });
  });

  it("downstream failure leaves the predecessor alone (bus TestPublicChainDownstreamFailureDoesNotRetryPredecessor)", () => {
    const run = new ChainRun(["up", "down"]);
    run.ok(0);
    run.fail(1);
    const t = run.tally();
    assert.equal(t.events.chain_advanced, 1);
    assert.equal(t.events.chain_failed, 1);
    assert.equal(t.events.chain_completed, undefined);
    assert.equal(publishesOf(run.history).filter((p) => p.item.chain?.index === 0).length, 1);
  });

  it("a failure without an error body gets a generic non-retryable cause", () => {
    const run = new ChainRun(["a"]);
    run.apply({ jobId: "c1_n0", index: 0, status: "failed" });
    assert.equal(run.state.failure?.code, "HANDLER_ERROR");
    assert.equal(run.state.failure?.retryable, false);
  });

  it("the first failure cause wins over duplicates and failChain", () => {
    const run = new ChainRun(["a", "b"]);
    const first = err("first");
    run.fail(0, first);
    const dup = run.fail(0, err("second"));
    assert.equal(dup.changed, false);
    assert.equal(dup.duplicates, 1);
    const again = run.failChain(err("third"));
    assert.equal(again.changed, false);
    assert.equal(again.rejected.length, 1);
    assert.deepEqual(run.state.failure, first);
  });

  it("a completed chain rejects a late failure (bus CompletedChainRejectsLateFailure)", () => {
    const run = new ChainRun(["a", "b"]);
    run.ok(0);
    run.ok(1);
    for (const i of [0, 1]) {
      const t = run.fail(i, err("late"));
      assert.equal(t.changed, false);
      assert.equal(t.duplicates, 1);
    }
    assert.equal(run.state.completed, true);
    assert.equal(run.state.failed, false);
    assert.equal(run.state.failure, null);
    const f = run.failChain(err("lost"));
    assert.equal(f.changed, false);
    assert.deepEqual(run.tally().callbacks, { finally: 1 });
    assert.equal(run.tally().events.chain_failed, undefined);
  });

  it("a success cannot complete a failed chain (bus TestSuccessfulDuplicateCannotCompleteFailedChain)", () => {
    const run = new ChainRun(["a"]);
    run.fail(0);
    const t = run.ok(0);
    assert.equal(t.changed, false);
    assert.equal(t.duplicates, 1);
    assert.equal(run.state.completed, false);
    assert.equal(run.state.nextIndex, 0);
    assert.equal(run.tally().events.chain_completed, undefined);
  });

  it("a failure cannot replace a node that succeeded (bus TestFailedDuplicateCannotReplaceSuccessfulChainNode)", () => {
    const run = new ChainRun(["a", "b"]);
    run.ok(0);
    const t = run.fail(0);
    assert.equal(t.changed, false);
    assert.equal(t.duplicates, 1);
    assert.equal(run.state.failed, false);
    assert.equal(run.state.nextIndex, 1);
  });

  it("success and failure of the same node in one group: the first writer wins", () => {
    const a = new ChainRun(["a", "b"]);
    const t1 = a.apply(nodeOk("c1", 0), nodeFail("c1", 0));
    assert.equal(t1.duplicates, 1);
    assert.equal(a.state.failed, false);
    assert.equal(a.state.nextIndex, 1);
    const b = new ChainRun(["a", "b"]);
    const t2 = b.apply(nodeFail("c1", 0), nodeOk("c1", 0));
    assert.equal(t2.duplicates, 1);
    assert.equal(b.state.failed, true);
    assert.deepEqual(b.tally().callbacks, { catch: 1, finally: 1 });
  });
});

describe("chain: failChain (lost node, no worker, interrupted creation)", () => {
  it("fails a running chain at its current node, catch + finally once", () => {
    const run = new ChainRun(["a", "b"]);
    run.ok(0);
    const lost = err("node lost", "LOST");
    const t = run.failChain(lost);
    assert.deepEqual(eventKinds(t.effects), ["chain_failed"]);
    assert.equal(eventsOf(t.effects)[0]!.type, "b");
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"]);
    assert.deepEqual(run.state.failure, lost);
    // Called again (another coordinator replica, or a retried reconciler): nothing more.
    const again = run.failChain(err("again"));
    assert.equal(again.changed, false);
    assert.deepEqual(again.effects, []);
    assert.deepEqual(run.tally().callbacks, { catch: 1, finally: 1 });
    assert.deepEqual(run.state.failure, lost);
  });

  it("is a no-op on a finished chain", () => {
    for (const finish of ["complete", "fail"] as const) {
      const run = new ChainRun(["a"]);
      if (finish === "complete") run.ok(0);
      else run.fail(0);
      const before = run.state;
      const t = run.failChain(err("late"));
      assert.equal(t.changed, false);
      assert.equal(t.next, before);
      assert.deepEqual(t.rejected, [{ reason: "chain already finished" }]);
    }
  });

  it("without callbacks only chain_failed and done are produced", () => {
    const run = new ChainRun(["a"], {});
    const t = run.failChain(err("x"));
    assert.deepEqual(
      t.effects.map((e) => e.type),
      ["event", "done"],
    );
  });
});

/**
 * @module
 * The kind-agnostic entry points (`applyOutcomes`, `failWorkflow`, `pendingTypes`, `recordCallbackOutcome`),
 * the public views, terminal/prune predicates, deterministic ids, and the wire validity of everything the core
 * emits (events and callback views checked against the protocol's schemas after a JSON round trip).
 */
import assert from "node:assert/strict";
import {
  applyOutcomes,
  batchView,
  callbackJobId,
  chainView,
  eventId,
  failWorkflow,
  isPrunable,
  isTerminal,
  memberJobId,
  nodeJobId,
  pendingTypes,
  progressJobId,
  recordCallbackOutcome,
  workflowView,
  type BatchState,
  type ChainState,
  type Effect,
  type Transition,
  type WorkflowState,
} from "../../shared/core/index.ts";
import { BusEventWire } from "../../shared/protocol/event.ts";
import { schemaErrors } from "../../shared/protocol/validate.ts";
import { WorkflowView } from "../../shared/protocol/workflow-view.ts";
import { BatchRun, ChainRun, invariants, memberFail, memberOk, nodeFail, nodeOk } from "./harness.ts";
import {
  callbackKinds,
  callbacksOf,
  deepFreeze,
  describe,
  err,
  eventKinds,
  eventsOf,
  it,
  makeCtx,
} from "./helpers.ts";

describe("applyOutcomes / failWorkflow dispatch on the workflow kind", () => {
  it("applyOutcomes on a chain behaves as applyChainOutcomes", () => {
    const run = new ChainRun(["a", "b"]);
    const t = applyOutcomes(run.state, [nodeOk("c1", 0)], makeCtx());
    invariants(t.next);
    assert.equal(t.next.kind, "chain");
    assert.deepEqual(eventKinds(t.effects), ["chain_advanced"]);
  });

  it("applyOutcomes on a batch behaves as applyBatchOutcomes", () => {
    const run = new BatchRun({ members: 1 });
    const t = applyOutcomes(run.state, [memberOk("b1", 0)], makeCtx());
    invariants(t.next);
    assert.equal(t.next.kind, "batch");
    assert.deepEqual(eventKinds(t.effects), ["batch_progressed", "batch_completed"]);
  });

  it("failWorkflow fails a chain (catch + finally) and is a no-op the second time", () => {
    const run = new ChainRun(["a"]);
    const t = run.step((s) => failWorkflow(s, err("lost"), makeCtx()) as Transition<ChainState>);
    assert.deepEqual(eventKinds(t.effects), ["chain_failed"]);
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"]);
    assert.equal(failWorkflow(run.state, err("again"), makeCtx()).changed, false);
  });

  it("failWorkflow cancels a batch as a failure (batch_failed + batch_cancelled)", () => {
    const run = new BatchRun({ members: 2 });
    const t = run.step((s) => failWorkflow(s, err("lost"), makeCtx()) as Transition<BatchState>);
    assert.deepEqual(eventKinds(t.effects), ["batch_failed", "batch_cancelled"]);
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"]);
    assert.equal(failWorkflow(run.state, err("again"), makeCtx()).changed, false);
  });
});

describe("pendingTypes", () => {
  it("chain: the current node's (queue, type) while running", () => {
    const run = new ChainRun(["a", "b"]);
    assert.deepEqual(pendingTypes(run.state), [{ queue: "q", type: "a" }]);
    run.ok(0);
    assert.deepEqual(pendingTypes(run.state), [{ queue: "q", type: "b" }]);
    run.fail(1);
    assert.deepEqual(pendingTypes(run.state), []);
  });

  it("batch: only the types that still have members without an outcome, each once", () => {
    const run = new BatchRun({ members: 0 });
    // members: 0,1 = q/a; 2 = q/b; 3 = r/a; 4 = q/a (a second run of q/a)
    run.append(0, [
      { queue: "q", type: "a" },
      { queue: "q", type: "a" },
      { queue: "q", type: "b" },
      { queue: "r", type: "a" },
      { queue: "q", type: "a" },
    ]);
    run.seal(5);
    const sorted = () =>
      pendingTypes(run.state).sort((x, y) => `${x.queue}${x.type}`.localeCompare(`${y.queue}${y.type}`));
    assert.deepEqual(sorted(), [
      { queue: "q", type: "a" },
      { queue: "q", type: "b" },
      { queue: "r", type: "a" },
    ]);
    run.ok(0, 1); // first run of q/a done, the second run (member 4) still pending
    assert.deepEqual(sorted(), [
      { queue: "q", type: "a" },
      { queue: "q", type: "b" },
      { queue: "r", type: "a" },
    ]);
    run.ok(4, 2);
    assert.deepEqual(sorted(), [{ queue: "r", type: "a" }]);
    run.ok(3);
    assert.deepEqual(pendingTypes(run.state), []);
  });

  it("batch: nothing once cancelled, even with members left", () => {
    const run = new BatchRun({ members: 3 });
    run.fail(0);
    assert.equal(run.view.pending, 2);
    assert.deepEqual(pendingTypes(run.state), []);
  });

  it("batch: nothing while no member was appended", () => {
    assert.deepEqual(pendingTypes(new BatchRun({ members: 0 }).state), []);
  });
});

describe("recordCallbackOutcome", () => {
  const setups: [string, () => WorkflowState, "then" | "catch" | "finally"][] = [
    ["chain catch", () => failedChain(), "catch"],
    ["chain finally", () => failedChain(), "finally"],
    ["batch then", () => completedBatch(), "then"],
    ["batch finally", () => completedBatch(), "finally"],
    ["batch catch", () => cancelledBatch(), "catch"],
  ];
  for (const [name, setup, kind] of setups) {
    for (const status of ["succeeded", "failed"] as const) {
      it(`${name}: published → ${status} once; a duplicate or contradictory outcome is a no-op`, () => {
        const s = deepFreeze(setup());
        assert.equal(s.claims[kind]!.status, "published");
        const t = recordCallbackOutcome(s, kind, status, makeCtx(7_000));
        invariants(t.next);
        assert.equal(t.changed, true);
        assert.deepEqual(t.effects, []);
        assert.deepEqual(t.next.claims[kind], { jobId: callbackJobId(s.id, kind), status, at: 7_000 });
        assert.equal(t.next.updatedAt, 7_000);
        assert.equal(s.claims[kind]!.status, "published", "input untouched");
        const others = Object.keys(s.claims).filter((k) => k !== kind) as (keyof typeof s.claims)[];
        for (const k of others) assert.deepEqual(t.next.claims[k], s.claims[k]);
        for (const again of ["succeeded", "failed"] as const) {
          const d = recordCallbackOutcome(t.next, kind, again, makeCtx(8_000));
          assert.equal(d.changed, false);
          assert.equal(d.next, t.next);
          assert.equal(d.duplicates, 1);
        }
      });
    }
  }

  it("an unclaimed callback, a chain's then, or progress: nothing to record", () => {
    const chain = failedChain();
    const cases: [WorkflowState, "then" | "catch" | "finally" | "progress"][] = [
      [chain, "then"],
      [chain, "progress"],
      [completedBatch(), "catch"],
      [completedBatch(), "progress"],
      [new ChainRun(["a"]).state, "finally"],
    ];
    for (const [s, kind] of cases) {
      const t = recordCallbackOutcome(s, kind, "succeeded", makeCtx());
      assert.equal(t.changed, false);
      assert.equal(t.next, s);
      assert.equal(t.duplicates, 0);
    }
  });
});

function failedChain(): WorkflowState {
  const run = new ChainRun(["a", "b"]);
  run.fail(0);
  return run.state;
}
function completedBatch(): WorkflowState {
  const run = new BatchRun({ members: 2 });
  run.ok(0, 1);
  return run.state;
}
function cancelledBatch(): WorkflowState {
  const run = new BatchRun({ members: 2 });
  run.fail(0);
  return run.state;
}

describe("views", () => {
  it("chainView shows every field", () => {
    const run = new ChainRun(["a", "b", "c"]);
    run.ok(0);
    const boom = err("b broke");
    run.step((s) => applyOutcomes(s, [nodeFail("c1", 1, boom)], makeCtx(2_000)) as Transition<ChainState>);
    assert.deepEqual(chainView(run.state), {
      kind: "chain",
      chain_id: "c1",
      dispatch_id: "d1",
      queue: "q",
      job_types: ["a", "b", "c"],
      next_index: 1,
      completed: false,
      failed: true,
      failure: boom,
      created_at: 1_000,
      updated_at: 2_000,
    });
    assert.deepEqual(workflowView(run.state), chainView(run.state));
  });

  it("batchView shows every field, pending derived", () => {
    const run = new BatchRun({ members: 5, allowFailures: true });
    run.ok(0);
    run.fail(1);
    run.skip(2);
    assert.deepEqual(batchView(run.state), {
      kind: "batch",
      batch_id: "b1",
      dispatch_id: "d1",
      name: "nightly",
      queue: "q",
      allow_failures: true,
      sealed: true,
      total: 5,
      pending: 2,
      processed: 3,
      failed: 1,
      skipped: 1,
      cancelled: false,
      completed: false,
      failure: err("member 1 broke"),
      created_at: 1_000,
      updated_at: 1_000,
    });
    assert.deepEqual(workflowView(run.state), batchView(run.state));
  });

  it("isTerminal and isPrunable (bus TestMemoryStorePruneRemovesTerminalRecordsOnly)", () => {
    const running = new ChainRun(["a"]).state;
    const completed = (() => {
      const r = new ChainRun(["a"]);
      r.ok(0);
      return r.state;
    })();
    const cases: [string, WorkflowState, boolean][] = [
      ["running chain", running, false],
      ["completed chain", completed, true],
      ["failed chain", failedChain(), true],
      ["running batch", new BatchRun({ members: 2 }).state, false],
      ["unsealed batch", new BatchRun({ members: 2, seal: false }).state, false],
      ["completed batch", completedBatch(), true],
      ["cancelled batch", cancelledBatch(), true],
    ];
    for (const [name, s, terminal] of cases) {
      assert.equal(isTerminal(s), terminal, name);
      assert.equal(isPrunable(s, s.updatedAt + 1), terminal, `${name} prunable after updatedAt`);
      assert.equal(isPrunable(s, s.updatedAt), false, `${name} not prunable at updatedAt`);
    }
  });
});

describe("deterministic ids", () => {
  it("are derived from the workflow id only", () => {
    assert.equal(nodeJobId("c", 2), "c_n2");
    assert.equal(memberJobId("b", 7), "b_m7");
    assert.equal(callbackJobId("b", "finally"), "b_finally");
    assert.equal(progressJobId("b", 10), "b_progress10");
    assert.equal(eventId("w", "chain_failed"), "w.chain_failed");
    assert.equal(eventId("w", "chain_advanced", 0), "w.chain_advanced.0");
  });

  it("replaying the same history gives the same effects", () => {
    const history = () => {
      const run = new BatchRun({ members: 3, allowFailures: true });
      run.fail(1);
      run.ok(0, 2);
      return run.history;
    };
    assert.deepEqual(history(), history());
  });
});

describe("wire validity of what the core emits", () => {
  function wireErrors(effects: readonly Effect[]): string[] {
    const out: string[] = [];
    for (const e of eventsOf(effects)) {
      const wire: unknown = JSON.parse(JSON.stringify(e));
      out.push(...schemaErrors(BusEventWire, wire).map((m) => `event ${e.id}: ${m}`));
    }
    for (const p of callbacksOf(effects)) {
      const wire: unknown = JSON.parse(JSON.stringify(p.item.callback!.state));
      out.push(...schemaErrors(WorkflowView, wire).map((m) => `view in ${p.msgId}: ${m}`));
    }
    return out;
  }

  it("chain events and callback views match the protocol schemas", () => {
    const ok = new ChainRun(["a", "b"], undefined, { traceparent: "00-x-y-01" });
    ok.ok(0);
    ok.ok(1);
    const bad = new ChainRun(["a", "b"]);
    bad.ok(0);
    bad.fail(1);
    assert.deepEqual(wireErrors([...ok.history, ...bad.history]), []);
    assert.ok(callbacksOf(bad.history).length === 2);
  });

  it("batch events and callback views match the protocol schemas", () => {
    const allow = new BatchRun({ members: 3, allowFailures: true });
    allow.fail(0);
    allow.ok(1, 2);
    const failing = new BatchRun({ members: 3 });
    failing.apply({ ...memberFail("b1", 0), type: undefined, queue: undefined });
    failing.skip(1, 2);
    const manual = new BatchRun({ members: 2 });
    manual.cancel(err("stop"), false);
    const effects = [...allow.history, ...failing.history, ...manual.history];
    assert.deepEqual(wireErrors(effects), []);
    assert.ok(callbacksOf(effects).length >= 9);
  });
});

/**
 * @module
 * Chain outcomes that must not move the chain: stale (past) duplicates, contradictions, future, unknown and
 * skipped nodes; purity of the transition; and the (queue, type) a running chain waits on.
 */
import assert from "node:assert/strict";
import { applyChainOutcomes, chainPendingTypes } from "../../shared/core/index.ts";
import { chainInvariants, ChainRun, nodeFail, nodeOk } from "./harness.ts";
import { describe, eventKinds, it, makeCtx } from "./helpers.ts";

describe("chain: rejections and duplicates", () => {
  const cases: {
    name: string;
    advance: number;
    index: number;
    status?: "succeeded" | "failed" | "skipped";
  }[] = [
    { name: "negative index", advance: 0, index: -1 },
    { name: "fractional index", advance: 0, index: 0.5 },
    { name: "NaN index", advance: 0, index: Number.NaN },
    { name: "index == nodes.length", advance: 1, index: 3 },
    { name: "far beyond the end", advance: 0, index: 99 },
    { name: "future node (next+1)", advance: 0, index: 1 },
    { name: "future node (next+2)", advance: 0, index: 2 },
    { name: "future node failure", advance: 0, index: 2, status: "failed" },
    { name: "skipped outcome (chains have none)", advance: 1, index: 1, status: "skipped" },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const run = new ChainRun(["a", "b", "c"]);
      for (let i = 0; i < c.advance; i++) run.ok(i);
      const before = run.state;
      const t = run.apply({ jobId: "x", index: c.index, status: c.status ?? "succeeded" });
      assert.equal(t.changed, false);
      assert.equal(t.next, before);
      assert.equal(t.rejected.length, 1);
      assert.equal(t.rejected[0]!.outcome?.index, c.index);
      assert.equal(t.duplicates, 0);
    });
  }

  it("rejects a future node of a failed chain, ignores past and current ones", () => {
    const run = new ChainRun(["a", "b", "c"]);
    run.ok(0);
    run.fail(1);
    assert.equal(run.ok(2).rejected.length, 1);
    assert.equal(run.ok(0).duplicates, 1);
    assert.equal(run.ok(1).duplicates, 1);
  });

  it("stale (past) nodes are duplicates, counted but never advancing", () => {
    const run = new ChainRun(["a", "b", "c"]);
    run.ok(0);
    run.ok(1);
    const t = run.apply(nodeOk("c1", 0), nodeOk("c1", 1), nodeFail("c1", 0));
    assert.equal(t.duplicates, 3);
    assert.equal(t.changed, false);
    assert.equal(run.state.nextIndex, 2);
  });

  it("a mixed group: counts duplicates, rejects unknown, applies the rest", () => {
    const run = new ChainRun(["a", "b", "c"]);
    run.ok(0);
    const t = run.apply(nodeOk("c1", 0), nodeOk("c1", 5), nodeOk("c1", 1), nodeOk("c1", 1));
    assert.equal(t.duplicates, 2);
    assert.equal(t.rejected.length, 1);
    assert.equal(run.state.nextIndex, 2);
    assert.deepEqual(eventKinds(t.effects), ["chain_advanced"]);
  });

  it("an outcome that arrives before its predecessor is rejected, and can be applied later", () => {
    const run = new ChainRun(["a", "b"]);
    assert.equal(run.apply(nodeOk("c1", 0 + 1), nodeOk("c1", 0)).rejected.length, 1);
    assert.equal(run.state.nextIndex, 1);
    run.ok(1);
    assert.equal(run.state.completed, true);
  });

  it("does not mutate its input and is deterministic", () => {
    const run = new ChainRun(["a", "b"]);
    const ctx = makeCtx();
    const snapshot = structuredClone(run.state);
    const a = applyChainOutcomes(run.state, [nodeFail("c1", 0)], ctx);
    const b = applyChainOutcomes(run.state, [nodeFail("c1", 0)], ctx);
    chainInvariants(a.next);
    assert.deepEqual(a, b);
    assert.deepEqual(run.state, snapshot);
  });

  it("updatedAt follows ctx.now on a change and stays put on a no-op", () => {
    const run = new ChainRun(["a", "b"]);
    const t = applyChainOutcomes(run.state, [nodeOk("c1", 0)], makeCtx(5_000));
    chainInvariants(t.next);
    assert.equal(t.next.updatedAt, 5_000);
    assert.equal(t.next.createdAt, 1_000);
    const dup = applyChainOutcomes(t.next, [nodeOk("c1", 0)], makeCtx(9_000));
    assert.equal(dup.next.updatedAt, 5_000);
  });
});

describe("chain: pendingTypes", () => {
  it("is the current node while running, nothing once finished", () => {
    const run = new ChainRun(["a", "b"]);
    assert.deepEqual(chainPendingTypes(run.state), [{ queue: "q", type: "a" }]);
    run.ok(0);
    assert.deepEqual(chainPendingTypes(run.state), [{ queue: "q", type: "b" }]);
    run.ok(1);
    assert.deepEqual(chainPendingTypes(run.state), []);
    const failed = new ChainRun(["a", "b"]);
    failed.fail(0);
    assert.deepEqual(chainPendingTypes(failed.state), []);
  });
});

/**
 * @module
 * `outcomeRecorded`: which jobs of a workflow already have their outcome in its record (so a redelivery of
 * one is settled, not run again nor taken for a dead worker's).
 */
import assert from "node:assert/strict";
import { outcomeRecorded } from "../../shared/core/recorded.ts";
import { BatchRun, ChainRun, memberOk } from "./harness.ts";
import { describe, it } from "./helpers.ts";

describe("outcomeRecorded", () => {
  it("batch: a member is recorded once its outcome is counted", () => {
    const run = new BatchRun({ members: 3 });
    const ref = (index: number) => ({ batch: { id: run.state.id, index } });
    assert.equal(outcomeRecorded(run.state, ref(1)), false);
    run.apply(memberOk(run.state.id, 1));
    assert.equal(outcomeRecorded(run.state, ref(1)), true);
    assert.equal(outcomeRecorded(run.state, ref(0)), false);
  });

  it("chain: nodes before nextIndex are recorded, and every node of an ended chain", () => {
    const run = new ChainRun(["a", "b", "c"]);
    const ref = (index: number) => ({ chain: { id: run.state.id, index } });
    run.ok(0);
    assert.deepEqual(
      [0, 1, 2].map((i) => outcomeRecorded(run.state, ref(i))),
      [true, false, false],
    );
    run.fail(1);
    assert.equal(outcomeRecorded(run.state, ref(1)), true);
  });

  it("callbacks: recorded once their claim has an outcome; progress never", () => {
    const run = new BatchRun({ members: 1 });
    const cb = (kind: "then" | "progress") => ({
      callback: { kind, workflow: "batch" as const, workflow_id: run.state.id },
    });
    assert.equal(outcomeRecorded(run.state, cb("then")), false);
    const s = { ...run.state, claims: { then: { jobId: "j", status: "succeeded" as const, at: 1 } } };
    assert.equal(outcomeRecorded(s, cb("then")), true);
    assert.equal(outcomeRecorded(s, cb("progress")), false);
  });
});

/**
 * @module
 * Batch lifecycle around the outcomes: chunked creation (append, seal), cancellation by hand or by failure,
 * and progress publication. `BatchRun` checks the counters' invariants after every transition.
 */
import assert from "node:assert/strict";
import { appendMembers, progressJobId, sealBatch } from "../../shared/core/index.ts";
import { ALL_CALLBACKS, batchInvariants, BatchRun, memberOk } from "./harness.ts";
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
  spec,
} from "./helpers.ts";

describe("batch: chunked creation", () => {
  it("create → append ×3 → seal: total grows with each chunk, sealed at the end", () => {
    const run = new BatchRun({ members: 0 });
    const chunks: [number, number][] = [
      [0, 3],
      [3, 4],
      [7, 2],
    ];
    for (const [offset, n] of chunks) {
      const r = run.append(offset, n);
      assert.deepEqual([r.changed, r.repeated, r.skipPublish, r.rejected.length], [true, false, false, 0]);
      assert.deepEqual(r.effects, []);
      assert.equal(run.view.total, offset + n);
      assert.equal(run.view.pending, offset + n);
      assert.equal(run.view.sealed, false);
    }
    const s = run.seal(9);
    assert.equal(s.changed, true);
    assert.deepEqual(s.effects, [], "sealing a batch with pending members completes nothing");
    assert.equal(run.view.sealed, true);
    assert.equal(run.view.total, 9);
  });

  it("keeps a run-length list of member (queue, type)", () => {
    const run = new BatchRun({ members: 0 });
    run.append(0, [
      { queue: "q", type: "a" },
      { queue: "q", type: "a" },
      { queue: "q", type: "b" },
    ]);
    run.append(3, [
      { queue: "q", type: "b" },
      { queue: "r", type: "b" },
      { queue: "q", type: "a" },
    ]);
    assert.deepEqual(run.state.members, [
      ["q", "a", 2],
      ["q", "b", 2],
      ["r", "b", 1],
      ["q", "a", 1],
    ]);
  });

  it("outcomes of all appended members before the seal do not complete the batch; the seal does", () => {
    const run = new BatchRun({ members: 0 });
    run.append(0, 2);
    run.ok(0, 1);
    assert.equal(run.view.completed, false, "not complete before seal");
    assert.equal(run.view.pending, 0);
    run.append(2, 1);
    run.ok(2);
    assert.equal(run.view.completed, false);
    const s = run.seal(3);
    assert.deepEqual(eventKinds(s.effects), ["batch_completed"]);
    assert.deepEqual(callbackKinds(s.effects), ["then", "finally"], "no progress at the seal");
    assert.deepEqual(doneOf(s.effects), [{ type: "done", kind: "batch", id: "b1", status: "succeeded" }]);
    assert.equal(run.view.completed, true);
  });

  it("allowFailures: catch at a failure before the seal, then + finally at the seal", () => {
    const run = new BatchRun({ members: 0, allowFailures: true });
    run.append(0, 2);
    const f = run.fail(1);
    assert.deepEqual(callbackKinds(f.effects), ["catch", "progress"]);
    run.ok(0);
    run.append(2, 1);
    run.ok(2);
    const s = run.seal(3);
    assert.deepEqual(callbackKinds(s.effects), ["then", "finally"]);
    assert.deepEqual(run.tally().callbacks, { catch: 1, progress: 3, then: 1, finally: 1 });
    assert.equal(run.tally().events.batch_failed, undefined);
  });

  it("a failure before the seal (no allowFailures) cancels at once; later chunks are skipped, not published", () => {
    const run = new BatchRun({ members: 0 });
    run.append(0, 2);
    run.fail(0);
    assert.deepEqual([run.view.cancelled, run.view.completed, run.view.sealed], [true, true, false]);
    const r = run.append(2, 3);
    assert.deepEqual([r.changed, r.repeated, r.skipPublish], [true, false, true]);
    assert.deepEqual(r.effects, []);
    assert.deepEqual([run.view.total, run.view.processed, run.view.skipped, run.view.pending], [5, 4, 3, 1]);
    // The skipped members' own outcomes, if any arrive, are duplicates.
    assert.equal(run.skip(3).duplicates, 1);
    // A repeat of the skipped chunk is still not to be published.
    const again = run.append(2, 3);
    assert.deepEqual([again.changed, again.repeated, again.skipPublish], [false, true, true]);
    const s = run.seal(5);
    assert.equal(s.changed, true);
    assert.deepEqual(s.effects, []);
    run.ok(1);
    assert.deepEqual([run.view.pending, run.view.processed], [0, 5]);
    assert.deepEqual(run.tally().callbacks, { catch: 1, finally: 1, progress: 1 });
  });

  it("a repeated chunk is a no-op that asks to republish (repeated: true), before and after the seal", () => {
    const run = new BatchRun({ members: 0 });
    run.append(0, 3);
    run.append(3, 2);
    for (const [offset, n] of [
      [0, 3],
      [3, 2],
    ] as const) {
      const r = run.append(offset, n);
      assert.deepEqual([r.changed, r.repeated, r.skipPublish, r.rejected.length], [false, true, false, 0]);
    }
    run.seal(5);
    const r = run.append(3, 2);
    assert.deepEqual([r.changed, r.repeated, r.rejected.length], [false, true, 0]);
    assert.equal(run.view.total, 5);
  });

  const bad: { name: string; offset: number; n: number; sealed?: boolean; reason: RegExp }[] = [
    { name: "a gap", offset: 4, n: 2, reason: /offset 4 but 3/ },
    { name: "an overlap", offset: 2, n: 3, reason: /offset 2 but 3/ },
    { name: "an overlap from 0", offset: 0, n: 4, reason: /offset 0 but 3/ },
    { name: "a chunk after the seal", offset: 3, n: 1, sealed: true, reason: /sealed/ },
    { name: "a gap after the seal", offset: 5, n: 1, sealed: true, reason: /sealed/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      const run = new BatchRun({ members: 3, seal: c.sealed ?? false });
      const before = run.state;
      const r = run.append(c.offset, c.n);
      assert.equal(r.changed, false);
      assert.equal(r.next, before);
      assert.equal(r.repeated, false);
      assert.equal(r.rejected.length, 1);
      assert.match(r.rejected[0]!.reason, c.reason);
      assert.equal(run.view.total, 3);
    });
  }

  const seals: { name: string; appended: number; seal: number; sealedFirst?: boolean; reason?: RegExp }[] = [
    { name: "fewer than appended", appended: 3, seal: 2, reason: /seal says 2 members but 3/ },
    { name: "more than appended", appended: 3, seal: 4, reason: /seal says 4 members but 3/ },
    { name: "an empty batch", appended: 0, seal: 0, reason: /at least one job/ },
    { name: "again with the same total (idempotent)", appended: 3, seal: 3, sealedFirst: true },
    {
      name: "again with another total",
      appended: 3,
      seal: 4,
      sealedFirst: true,
      reason: /already sealed with 3/,
    },
  ];
  for (const c of seals) {
    it(`seal ${c.name}`, () => {
      const run = new BatchRun({ members: c.appended, seal: c.sealedFirst ?? false });
      const before = run.state;
      const t = run.seal(c.seal);
      assert.equal(t.changed, false);
      assert.equal(t.next, before);
      if (c.reason) {
        assert.equal(t.rejected.length, 1);
        assert.match(t.rejected[0]!.reason, c.reason);
      } else assert.deepEqual(t.rejected, []);
      assert.equal(run.view.sealed, c.sealedFirst ?? false);
    });
  }

  it("appendMembers and sealBatch do not mutate their input", () => {
    const run = new BatchRun({ members: 2, seal: false });
    const snapshot = structuredClone(run.state);
    batchInvariants(appendMembers(run.state, 2, [{ queue: "q", type: "z" }], makeCtx()).next);
    batchInvariants(sealBatch(run.state, 2, makeCtx()).next);
    assert.deepEqual(run.state, snapshot);
  });
});

describe("batch: cancelBatch", () => {
  it("by hand (failed: false): batch_cancelled only, cancel, catch with the reason + finally, done failed", () => {
    const run = new BatchRun({ members: 4 });
    run.ok(0);
    const reason = err("cancelled by operator", "CANCELLED");
    const t = run.cancel(reason, false);
    assert.deepEqual(eventKinds(t.effects), ["batch_cancelled"]);
    assert.equal(eventsOf(t.effects)[0]!.id, "b1.batch_cancelled");
    assert.deepEqual(eventsOf(t.effects)[0]!.error, reason);
    assert.deepEqual(cancelsOf(t.effects), [{ type: "cancel", batchId: "b1" }]);
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"]);
    assert.deepEqual(callbacksOf(t.effects, "catch")[0]!.item.callback!.error, reason);
    assert.deepEqual(doneOf(t.effects), [
      { type: "done", kind: "batch", id: "b1", status: "failed", error: reason },
    ]);
    assert.deepEqual(
      [run.view.cancelled, run.view.completed, run.view.failed, run.view.processed],
      [true, true, 0, 1],
    );
    assert.deepEqual(run.view.failure, reason);
  });

  it("as a failure (failed: true, a lost member): batch_failed then batch_cancelled", () => {
    const run = new BatchRun({ members: 2 });
    const t = run.cancel(err("member lost", "LOST"), true);
    assert.deepEqual(eventKinds(t.effects), ["batch_failed", "batch_cancelled"]);
    assert.deepEqual(callbackKinds(t.effects), ["catch", "finally"]);
  });

  it("members not yet started are skipped and counted as processed, with no new callbacks", () => {
    const run = new BatchRun({ members: 4 });
    run.ok(0);
    run.cancel(err("stop"), false);
    const mark = run.history.length;
    run.skip(1, 2);
    run.ok(3); // was already running when the cancel came
    assert.deepEqual([run.view.processed, run.view.pending, run.view.skipped, run.view.failed], [4, 0, 2, 0]);
    const later = run.history.slice(mark);
    assert.deepEqual([...new Set(eventKinds(later))], ["batch_progressed"]);
    assert.equal(callbacksOf(later).length, 0);
    assert.equal(doneOf(later).length, 0);
    assert.equal(run.tally().events.batch_completed, undefined);
    assert.equal(run.tally().callbacks.then, undefined);
  });

  it("with allowFailures after a failure: catch is not published twice, finally once", () => {
    const run = new BatchRun({ members: 3, allowFailures: true });
    run.fail(0);
    const t = run.cancel(err("stop"), false);
    assert.deepEqual(callbackKinds(t.effects), ["finally"]);
    assert.deepEqual(run.tally().callbacks, { catch: 1, progress: 1, finally: 1 });
    assert.deepEqual(run.view.failure, err("member 0 broke"), "the first cause is kept");
  });

  it("before the seal: appended-later members are skipped; the seal completes nothing more", () => {
    const run = new BatchRun({ members: 0 });
    run.append(0, 2);
    run.cancel(err("stop"), false);
    const r = run.append(2, 2);
    assert.equal(r.skipPublish, true);
    run.seal(4);
    assert.deepEqual(
      [run.view.total, run.view.processed, run.view.skipped, run.view.sealed],
      [4, 2, 2, true],
    );
    assert.equal(run.tally().events.batch_completed, undefined);
  });

  const finished: [string, (run: BatchRun) => void][] = [
    ["completed", (run) => run.ok(0, 1)],
    ["completed with allowed failures", (run) => run.fail(0, 1)],
    ["cancelled by a failure", (run) => run.fail(0)],
    ["cancelled by hand", (run) => run.cancel(err("first"), false)],
  ];
  for (const [name, finish] of finished) {
    for (const failed of [false, true]) {
      it(`is a no-op on a batch already ${name} (failed: ${failed})`, () => {
        const run = new BatchRun({ members: 2, allowFailures: name.includes("allowed") });
        finish(run);
        const before = run.state;
        const mark = run.history.length;
        const t = run.cancel(err("late"), failed);
        assert.equal(t.changed, false);
        assert.equal(t.next, before);
        assert.deepEqual(t.rejected, [{ reason: "batch already finished" }]);
        assert.equal(run.history.length, mark);
      });
    }
  }

  it("without callbacks: events, cancel and done only", () => {
    const run = new BatchRun({ members: 2, callbacks: {} });
    const t = run.cancel(err("x"), true);
    assert.deepEqual(
      t.effects.map((e) => e.type),
      ["event", "event", "cancel", "done"],
    );
  });
});

describe("batch: progress callbacks", () => {
  it("one per group that counted outcomes, with ids from processed; none for duplicate-only or rejected groups", () => {
    const run = new BatchRun({ members: 5 });
    const g1 = run.ok(0, 1);
    assert.deepEqual(
      callbacksOf(g1.effects, "progress").map((p) => p.msgId),
      [progressJobId("b1", 2)],
    );
    assert.equal(callbacksOf(g1.effects, "progress")[0]!.msgId, "b1_progress2");
    assert.equal(run.ok(0, 1).effects.length, 0, "duplicates only");
    assert.equal(run.ok(7).effects.length, 0, "rejected only");
    const g2 = run.ok(2, 2, 3);
    assert.deepEqual(
      callbacksOf(g2.effects, "progress").map((p) => p.msgId),
      ["b1_progress4"],
    );
    assert.equal(run.state.progressPublished, 2);
    assert.equal(run.state.claims.then, undefined);
    assert.equal("progress" in run.state.claims, false, "progress is not claimed");
  });

  it("the last one shows the final counts; none after completion", () => {
    const run = new BatchRun({ members: 3 });
    run.ok(0);
    const last = run.ok(1, 2);
    const progress = callbacksOf(last.effects, "progress");
    assert.equal(progress.length, 1);
    const view = progress[0]!.item.callback!.state;
    assert.equal(view.kind, "batch");
    if (view.kind === "batch") {
      assert.deepEqual([view.total, view.pending, view.processed, view.failed], [3, 0, 3, 0]);
    }
    assert.equal(progress[0]!.item.spec.type, "batch:progress");
    assert.equal(progress[0]!.item.callback!.kind, "progress");
    assert.equal(progress[0]!.item.callback!.error, undefined);
    assert.equal(run.state.progressPublished, 2);
  });

  it("the group that cancels the batch publishes one progress showing the cancel; later groups none", () => {
    const run = new BatchRun({ members: 3 });
    const t = run.fail(0);
    const progress = callbacksOf(t.effects, "progress");
    assert.equal(progress.length, 1);
    const view = progress[0]!.item.callback!.state;
    assert.equal(view.kind === "batch" && view.cancelled, true);
    run.ok(1);
    run.ok(2);
    assert.equal(run.tally().callbacks.progress, 1);
    assert.equal(run.state.progressPublished, 1);
  });

  it("after a manual cancel no progress is published", () => {
    const run = new BatchRun({ members: 3 });
    run.cancel(err("stop"), false);
    run.skip(0, 1, 2);
    assert.equal(run.tally().callbacks.progress, undefined);
  });

  it("is published before the seal too", () => {
    const run = new BatchRun({ members: 2, seal: false });
    assert.equal(callbacksOf(run.ok(0).effects, "progress").length, 1);
  });

  it("not configured: never published", () => {
    const { progress: _progress, ...rest } = ALL_CALLBACKS;
    const run = new BatchRun({ members: 3, callbacks: rest });
    run.ok(0);
    run.ok(1, 2);
    assert.equal(run.tally().callbacks.progress, undefined);
    assert.equal(run.state.progressPublished, 0);
    assert.equal(run.tally().events.batch_progressed, 2, "batch_progressed events do not depend on it");
  });

  it("batch_progressed: one per counting group, id by processed, counts after the group", () => {
    const run = new BatchRun({ members: 4, callbacks: { progress: spec("p") } });
    run.ok(0, 1);
    run.ok(1);
    run.ok(3);
    const progressed = eventsOf(run.history).filter((e) => e.kind === "batch_progressed");
    assert.deepEqual(
      progressed.map((e) => [e.id, e.counts]),
      [
        ["b1.batch_progressed.2", { total: 4, pending: 2, processed: 2, failed: 0 }],
        ["b1.batch_progressed.3", { total: 4, pending: 1, processed: 3, failed: 0 }],
      ],
    );
    assert.equal(memberOk("b1", 3).jobId, "b1_m3");
  });
});

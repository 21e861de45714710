/**
 * @module
 * The done-bitmap: growth past byte boundaries, base64 round trips (100,000 members), and the cost of applying
 * 100,000 member outcomes in groups of 1,000 to one batch record.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import {
  appendMembers,
  applyBatchOutcomes,
  Bitmap,
  batchView,
  createBatch,
  sealBatch,
  type BatchState,
  type MemberOutcome,
} from "../../shared/core/index.ts";
import { batchInvariants, memberFail, memberOk, popcount } from "./harness.ts";
import { callbacksOf, describe, eventsOf, it, makeCtx, spec } from "./helpers.ts";

function bitsOf(b: Bitmap, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (b.has(i)) out.push(i);
  return out;
}

describe("Bitmap", () => {
  it("an empty bitmap has nothing and encodes to the empty string", () => {
    const b = Bitmap.empty();
    assert.equal(b.has(0), false);
    assert.equal(b.has(1_000_000), false);
    assert.equal(b.encode(0), "");
    assert.equal(b.encode(100), "");
    assert.deepEqual(bitsOf(Bitmap.decode(""), 64), []);
  });

  const boundaries = [
    0, 1, 6, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128, 255, 256, 1_023, 1_024, 4_097,
  ];
  it("sets and reads bits on and across byte boundaries, growing as needed", () => {
    const b = Bitmap.empty();
    for (const i of boundaries) {
      assert.equal(b.has(i), false, `bit ${i} starts clear`);
      b.set(i);
      assert.equal(b.has(i), true, `bit ${i} set`);
    }
    assert.deepEqual(bitsOf(b, 5_000), boundaries);
    b.set(7); // setting twice is harmless
    assert.deepEqual(bitsOf(b, 5_000), boundaries);
  });

  for (const i of boundaries) {
    it(`round-trips a lone bit ${i} through base64, encoded in ceil((i+1)/8) bytes`, () => {
      const b = Bitmap.empty();
      b.set(i);
      const encoded = b.encode(i + 1);
      assert.equal(atob(encoded).length, Math.ceil((i + 1) / 8));
      const back = Bitmap.decode(encoded);
      assert.deepEqual(bitsOf(back, i + 64), [i]);
    });
  }

  it("grows from a decoded bitmap and keeps the old bits", () => {
    const b = Bitmap.empty();
    b.set(3);
    const grown = Bitmap.decode(b.encode(8));
    grown.set(9);
    grown.set(700);
    assert.deepEqual(bitsOf(Bitmap.decode(grown.encode(701)), 800), [3, 9, 700]);
  });

  it("encode(bitCount) stores only the bytes that bitCount covers, not the growth slack", () => {
    const b = Bitmap.empty();
    b.set(0);
    b.set(8); // grows to 2 bytes
    b.set(16); // grows to 4 bytes (doubling)
    assert.equal(atob(b.encode(17)).length, 3);
    assert.equal(atob(b.encode(9)).length, 2);
    assert.deepEqual(bitsOf(Bitmap.decode(b.encode(9)), 32), [0, 8], "bits past bitCount are not stored");
  });

  const patterns: [string, (i: number) => boolean][] = [
    ["all", () => true],
    ["none", () => false],
    ["every third", (i) => i % 3 === 0],
    ["first and last", (i) => i === 0 || i === 99_999],
    ["pseudo-random", (i) => ((i * 2_654_435_761) >>> 0) % 7 < 3],
  ];
  for (const [name, on] of patterns) {
    it(`round-trips 100,000 members through base64 (${name})`, () => {
      const n = 100_000;
      const b = Bitmap.empty();
      for (let i = 0; i < n; i++) if (on(i)) b.set(i);
      const encoded = b.encode(n);
      assert.ok(encoded.length <= Math.ceil(n / 8 / 3) * 4, "about N/8 bytes of base64");
      assert.match(encoded, /^[A-Za-z0-9+/]*=*$/);
      const back = Bitmap.decode(encoded);
      for (let i = 0; i < n; i++)
        if (back.has(i) !== on(i)) assert.fail(`bit ${i} differs after the round trip`);
      assert.equal(Bitmap.decode(back.encode(n)).encode(n), encoded, "stable on re-encoding");
    });
  }
});

describe("a 100,000-member batch", () => {
  const N = 100_000;
  const GROUP = 1_000;

  function bigBatch(allowFailures: boolean): BatchState {
    const ctx = makeCtx();
    let s = createBatch(
      {
        id: "big",
        dispatchId: "d",
        name: "big",
        queue: "q",
        allowFailures,
        callbacks: { then: spec("t"), catch: spec("c"), finally: spec("f"), progress: spec("p") },
      },
      ctx,
    ).next;
    for (let offset = 0; offset < N; offset += 10_000) {
      const r = appendMembers(
        s,
        offset,
        Array.from({ length: 10_000 }, () => ({ queue: "q", type: "job" })),
        ctx,
      );
      assert.deepEqual(r.rejected, []);
      s = r.next;
    }
    s = sealBatch(s, N, ctx).next;
    batchInvariants(s, { bitmap: false });
    assert.equal(s.total, N);
    assert.deepEqual(s.members, [["q", "job", N]]);
    return s;
  }

  it("applies 100,000 outcomes in groups of 1,000 (scattered order, with duplicates) in < 2 s", () => {
    let s = bigBatch(true);
    const ctx = makeCtx();
    // A permutation of 0..N-1 (7919 is coprime with 100,000) so every group touches bytes all over the bitmap.
    const order = Array.from({ length: N }, (_, i) => (i * 7_919) % N);
    let progress = 0;
    let completions = 0;
    let catches = 0;
    let elapsed = 0;
    for (let g = 0; g < N; g += GROUP) {
      const outcomes: MemberOutcome[] = order
        .slice(g, g + GROUP)
        .map((i) => (i % 100 === 0 ? memberFail("big", i) : memberOk("big", i)));
      // each group also carries 10 redeliveries of the previous group
      const dups = g === 0 ? [] : order.slice(g - 10, g).map((i) => memberOk("big", i));
      const t0 = performance.now();
      const t = applyBatchOutcomes(s, [...dups, ...outcomes], ctx);
      elapsed += performance.now() - t0;
      assert.equal(t.duplicates, dups.length);
      s = t.next;
      batchInvariants(s, { bitmap: false });
      const v = batchView(s);
      assert.equal(v.pending + v.processed, v.total, "pending + processed == total");
      assert.equal(v.processed, g + GROUP);
      progress += callbacksOf(t.effects, "progress").length;
      catches += callbacksOf(t.effects, "catch").length;
      completions += eventsOf(t.effects).filter((e) => e.kind === "batch_completed").length;
    }
    assert.ok(elapsed < 2_000, `took ${elapsed.toFixed(0)} ms`);
    const v = batchView(s);
    assert.deepEqual(
      [v.completed, v.cancelled, v.processed, v.pending, v.failed],
      [true, false, N, 0, N / 100],
    );
    assert.equal(popcount(s.done, N), N);
    assert.ok(s.done.length <= Math.ceil(N / 8 / 3) * 4, "the record holds N/8 bytes of bitmap");
    assert.deepEqual([progress, catches, completions], [N / GROUP, 1, 1]);
  });

  it("a failure without allowFailures cancels it, and the remaining outcomes are still counted", () => {
    let s = bigBatch(false);
    const ctx = makeCtx();
    s = applyBatchOutcomes(s, [memberFail("big", 50_000)], ctx).next;
    batchInvariants(s, { bitmap: false });
    assert.equal(s.cancelled, true);
    for (let g = 0; g < N; g += GROUP) {
      const outcomes = Array.from({ length: GROUP }, (_, k) => memberOk("big", g + k));
      const t = applyBatchOutcomes(s, outcomes, ctx);
      assert.equal(callbacksOf(t.effects).length, 0);
      s = t.next;
      batchInvariants(s, { bitmap: false });
    }
    const v = batchView(s);
    assert.deepEqual([v.processed, v.pending, v.failed], [N, 0, 1]);
  });
});

/**
 * @module
 * Plain jobs end to end: dispatch → worker handler → result via `bus.wait`, the job context a handler sees,
 * and `dispatchMany` (order, per-job errors, a large call). Real nats-server, in-process dispatcher and
 * coordinator, the worker is a bus in this process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  job,
  JobContext,
  TimeoutError,
  ValidationError,
  type Bus,
  type DispatchManyResult,
} from "../../shared/index.ts";
import { CountLatch, deferred } from "../../shared/testkit/wait.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { rejectsWithCode } from "../helpers/jobs.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker({ concurrency: 32 })));
after(() => mesh?.stop());

describe("dispatch and wait", () => {
  it("runs the handler and bus.wait returns its result, whether called before or after completion", async () => {
    const type = uniq("echo");
    const gate = deferred();
    const started = deferred();
    worker.register(type, async (ctx) => {
      started.resolve();
      await gate.promise;
      return { echoed: ctx.bind<{ n: number }>().n * 2 };
    });
    const { dispatchId, duplicate } = await client.dispatch(job(type, { n: 21 }));
    // Time-ordered: 11 hex digits of the time it was made, then 12 random ones.
    assert.match(dispatchId, /^dsp_[0-9a-f]{23}$/);
    assert.ok(Math.abs(parseInt(dispatchId.slice(4, 15), 16) - Date.now()) < 10_000, "its time is now");
    assert.equal(duplicate, false);

    await started.wait(10_000, "the handler to start");
    const early = client.wait(dispatchId, { timeout: 10_000 }); // subscribed while the job still runs
    gate.resolve();
    assert.deepEqual(await early, { status: "succeeded", result: { echoed: 42 }, attempts: 1 });
    // After completion the outcome comes from the coordinator's record, from any client.
    assert.deepEqual(await client.wait(dispatchId, { timeout: 5_000 }), {
      status: "succeeded",
      result: { echoed: 42 },
      attempts: 1,
    });
    assert.deepEqual(await worker.wait(dispatchId, { timeout: 5_000 }), await early);
  });

  it("reports a failed job with its error and attempts", async () => {
    const type = uniq("boom");
    worker.register(type, () => {
      throw new Error("disk on fire");
    });
    const { dispatchId } = await client.dispatch(job(type).retry(1));
    const out = await client.wait(dispatchId, { timeout: 10_000 });
    assert.equal(out.status, "failed");
    assert.equal(out.attempts, 2);
    if (out.status === "failed") {
      assert.equal(out.error.code, "HANDLER_ERROR");
      assert.match(out.error.message, /disk on fire/);
    }
  });

  it("waiting on an unknown id times out with TimeoutError (code TIMEOUT)", async () => {
    const t0 = performance.now();
    const err = await rejectsWithCode(
      client.wait("dsp_00000000deadbeef", { timeout: 300 }),
      "TIMEOUT",
      /dsp_00000000deadbeef/,
    );
    assert.ok(err instanceof TimeoutError);
    const took = performance.now() - t0;
    assert.ok(took >= 280 && took < 3_000, `timed out after ${took} ms`);
  });
});

describe("job context", () => {
  it("has the ids, type, queue, attempt numbers, maxAttempts and a live signal", async () => {
    const type = uniq("ctx");
    const runs = new Runs();
    const seen: JobContext[] = [];
    worker.register(type, (ctx) => {
      seen.push(ctx);
      runs.record(ctx);
      assert.ok(ctx.signal instanceof AbortSignal);
      assert.equal(ctx.signal.aborted, false);
      if (ctx.attempt < 2) throw new Error(`fail #${ctx.attempt}`);
      return "third time lucky";
    });
    const { dispatchId } = await client.dispatch(job(type, { x: 1 }).retry(2));
    const out = await client.wait(dispatchId, { timeout: 10_000 });
    assert.deepEqual(out, { status: "succeeded", result: "third time lucky", attempts: 3 });
    assert.deepEqual(runs.attempts(), [0, 1, 2]);
    for (const ctx of seen) {
      assert.equal(ctx.dispatchId, dispatchId);
      assert.equal(ctx.jobId, dispatchId, "a plain job's id is its dispatch id");
      assert.equal(ctx.jobType, type);
      assert.equal(ctx.queue, "default");
      assert.equal(ctx.maxAttempts, 3);
      assert.equal(ctx.chainId, undefined);
      assert.equal(ctx.batchId, undefined);
      assert.equal(ctx.schemaVersion, 1);
    }
  });

  it("bind() returns a fresh copy each call and payload is a copy of the raw JSON bytes", async () => {
    const type = uniq("copy");
    const payload = { user: { name: "ada" }, tags: ["a", "b"] };
    const checked = deferred<void>();
    worker.register(type, (ctx) => {
      try {
        const first = ctx.bind<typeof payload>();
        assert.deepEqual(first, payload);
        first.user.name = "mallory";
        first.tags.push("c");
        assert.deepEqual(ctx.bind(), payload, "mutating a bind() result changes the next one");
        assert.notEqual(ctx.bind(), ctx.bind());

        const bytes = ctx.payload;
        assert.ok(bytes instanceof Uint8Array);
        assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), payload);
        bytes.fill(0x20);
        assert.deepEqual(JSON.parse(new TextDecoder().decode(ctx.payload)), payload);
        assert.deepEqual(ctx.bind(), payload, "mutating payload bytes changes bind()");
        checked.resolve();
      } catch (err) {
        checked.reject(err);
      }
      return ctx.bind<typeof payload>().user.name;
    });
    const { dispatchId } = await client.dispatch(job(type, payload));
    await checked.wait(10_000, "the handler's checks");
    assert.deepEqual(await client.wait(dispatchId, { timeout: 5_000 }), {
      status: "succeeded",
      result: "ada",
      attempts: 1,
    });
  });

  it("a job without payload binds to null", async () => {
    const type = uniq("nopayload");
    worker.register(type, (ctx) => ({ bound: ctx.bind(), bytes: ctx.payload.length }));
    const { dispatchId } = await client.dispatch(job(type));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: { bound: null, bytes: 4 },
      attempts: 1,
    });
  });
});

describe("dispatchMany", () => {
  it("keeps the order of results and reports a bad job in place without failing the others", async () => {
    const type = uniq("many");
    worker.register(type, (ctx) => ctx.bind<{ i: number }>().i);
    const jobs = Array.from({ length: 9 }, (_, i) =>
      i === 4 ? job("not a valid type", { i }) : job(type, { i }),
    );
    const ids = jobs.map((_, i) => `dsp_order${i}_${uniq("x").slice(2)}`);
    const results = await client.dispatchMany(jobs.map((j, i) => j.withId(ids[i]!)));
    assert.equal(results.length, 9);
    results.forEach((r, i) => {
      if (i === 4) {
        assert.equal(r.ok, false, "the invalid job");
        if (!r.ok) {
          assert.ok(r.error instanceof ValidationError, `got ${r.error.name}`);
          assert.equal(r.error.code, "VALIDATION");
          assert.match(r.error.message, /jobs\[4\]\.type/);
        }
      } else {
        assert.equal(r.ok, true, `job ${i}: ${JSON.stringify(r)}`);
        if (r.ok) assert.equal(r.dispatchId, ids[i]);
      }
    });
    const outcomes = await Promise.all(
      results.map((r) => (r.ok ? client.wait(r.dispatchId, { timeout: 10_000 }) : Promise.resolve(null))),
    );
    outcomes.forEach((o, i) => {
      if (i === 4) assert.equal(o, null);
      else assert.deepEqual(o, { status: "succeeded", result: i, attempts: 1 });
    });
  });

  it("dispatches 3,000 jobs in one call, and every one of them runs once", async () => {
    const type = uniq("bulk");
    const seen = new Set<number>();
    let runs = 0;
    const all = new CountLatch(3_000);
    worker.register(
      type,
      (ctx) => {
        runs++;
        const { i } = ctx.bind<{ i: number }>();
        if (!seen.has(i)) all.countDown();
        seen.add(i);
      },
      { concurrency: 64 },
    );
    const jobs = Array.from({ length: 3_000 }, (_, i) => job(type, { i }));
    const t0 = performance.now();
    const results: DispatchManyResult[] = await client.dispatchMany(jobs);
    const dispatchMs = performance.now() - t0;
    assert.equal(results.length, 3_000);
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], "no job rejected");
    assert.equal(new Set(results.map((r) => (r.ok ? r.dispatchId : ""))).size, 3_000, "distinct ids");
    await all.wait(30_000, "all 3,000 jobs to run");
    assert.equal(runs, 3_000, "no job ran twice");
    assert.ok(dispatchMs < 15_000, `dispatchMany took ${dispatchMs} ms`);
    // Spot-check that results line up with their jobs.
    const last = results[2_999]!;
    assert.ok(last.ok);
    if (last.ok) {
      const o = await client.wait(last.dispatchId, { timeout: 10_000 });
      assert.equal(o.status, "succeeded");
    }
  });
});

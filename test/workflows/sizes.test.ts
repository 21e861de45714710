/**
 * @module
 * Sizes never wedge anything (issue 12, item 1), through the mesh: members failing with 200 KB errors, members
 * returning 200 KB results (many outcomes of that size in one worker and one coordinator group), and a result
 * over JETBUS_MAX_RESULT_BYTES failing only its own job with RESULT_TOO_LARGE. Each ends with exact counts and
 * each callback run once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, PermanentError, type Bus } from "../../shared/index.ts";
import type { BatchBuilder } from "../../shared/sdk/builders.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { ncOf, queueSettled, rawWorkflow, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus({ concurrency: 40 });
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

const KB = 1024;

function callbacks() {
  const t = { then: uniq("size-then"), catch: uniq("size-catch"), fin: uniq("size-finally") };
  for (const c of Object.values(t)) bus.register(c, runs.handler());
  return t;
}

function withCallbacks(b: BatchBuilder, t: ReturnType<typeof callbacks>): Promise<string> {
  return b.then(job(t.then)).catch(job(t.catch)).finally(job(t.fin)).dispatch();
}

/** Waits for the batch to end with an empty outbox and its callbacks' queues to drain; counts their runs. */
async function callbackRuns(id: string, t: ReturnType<typeof callbacks>) {
  const nc = ncOf(bus);
  await workflowSettled(nc, "batch", id, 30_000);
  for (const c of Object.values(t)) await queueSettled(nc, c);
  return { then: runs.count(t.then), catch: runs.count(t.catch), finally: runs.count(t.fin) };
}

describe("sizes never wedge a batch", () => {
  it("10 members throwing a PermanentError with a 200 KB message: failed 10, callbacks once, errors in the dead letters", async () => {
    const type = uniq("size-bigerror");
    const message = (i: number) => `member ${i}: ${"e".repeat(200 * KB)}`;
    bus.register(type, (ctx) => {
      throw new PermanentError(message(ctx.bind<{ i: number }>().i));
    });
    const t = callbacks();
    const id = await withCallbacks(
      bus.batch(...Array.from({ length: 10 }, (_, i) => job(type, { i }))).allowFailures(),
      t,
    );
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.failed, b.pending], [10, 10, 10, 0]);
    assert.deepEqual(await callbackRuns(id, t), { then: 1, catch: 1, finally: 1 });
    // The record keeps one error, truncated with its marker; the record stays small.
    const raw = await rawWorkflow(ncOf(bus), "batch", id);
    assert.ok(raw);
    assert.match(raw.state.failure?.message ?? "", /…\[truncated \d+ bytes\]$/);
    assert.ok(Buffer.byteLength(JSON.stringify(raw)) < 64 * KB, "the record stays within budget");
    // The catch callback sees the (truncated) first error.
    assert.match(runs.of(t.catch)[0]!.error?.message ?? "", /truncated/);
    // Each member's own error is in its dead letter, in full.
    const letters = (await bus.deadLetters.list({ type, limit: 50 })).filter((d) => d.jobType === type);
    assert.equal(letters.length, 10);
    const messages = new Set(letters.map((d) => d.error.message));
    for (let i = 0; i < 10; i++) assert.ok(messages.has(message(i)), `member ${i}'s error in full`);
  });

  it("then and finally with 250 KB payloads each: refused at dispatch with PAYLOAD_TOO_LARGE, nothing kept", async () => {
    const t = callbacks();
    const big = { blob: "p".repeat(250_000) };
    const type = uniq("size-never-finishes");
    bus.register(type, runs.handler());
    await assert.rejects(
      bus.batch(job(type), job(type)).then(job(t.then, big)).finally(job(t.fin, big)).dispatch(),
      (err: { code?: string; message: string }) =>
        err.code === "PAYLOAD_TOO_LARGE" && /callbacks/.test(err.message),
    );
    assert.equal(runs.count(type), 0);
  });

  it("40 members returning 200 KB results: all succeed, then and finally once", async () => {
    const type = uniq("size-bigresult");
    bus.register(
      type,
      runs.handler((ctx) => ({ i: ctx.bind<{ i: number }>().i, blob: "r".repeat(200 * KB) })),
    );
    const t = callbacks();
    const id = await withCallbacks(bus.batch(...Array.from({ length: 40 }, (_, i) => job(type, { i }))), t);
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.failed, b.cancelled], [40, 40, 0, false]);
    assert.deepEqual(await callbackRuns(id, t), { then: 1, catch: 0, finally: 1 });
    assert.equal(runs.count(type), 40, "each member ran once");
  });

  it("40 plain jobs returning 200 KB results: each result is kept whole for bus.wait", async () => {
    const type = uniq("size-plainresult");
    bus.register(type, (ctx) => ({ i: ctx.bind<{ i: number }>().i, blob: "p".repeat(200 * KB) }));
    const sent = await bus.dispatchMany(Array.from({ length: 40 }, (_, i) => job(type, { i })));
    const outcomes = await Promise.all(
      sent.map((r) => {
        assert.ok(r.ok);
        return bus.wait(r.dispatchId, { timeout: 30_000 });
      }),
    );
    outcomes.forEach((o, i) => {
      assert.equal(o.status, "succeeded");
      const result = (o as { result: { i: number; blob: string } }).result;
      assert.equal(result.i, i);
      assert.equal(result.blob.length, 200 * KB);
    });
  });

  it("a result over JETBUS_MAX_RESULT_BYTES fails only its own job, with RESULT_TOO_LARGE", async () => {
    const type = uniq("size-toolarge");
    bus.register(
      type,
      runs.handler((ctx) => {
        const { big } = ctx.bind<{ big: boolean }>();
        return { blob: "x".repeat(big ? 300 * KB : 100 * KB) };
      }),
    );
    const t = callbacks();
    const id = await withCallbacks(
      bus.batch(...Array.from({ length: 6 }, (_, i) => job(type, { big: i === 2 }).retry(2))).allowFailures(),
      t,
    );
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.failed], [6, 6, 1]);
    assert.equal(b.failure?.code, "RESULT_TOO_LARGE");
    assert.deepEqual(await callbackRuns(id, t), { then: 1, catch: 1, finally: 1 });
    assert.equal(runs.count(type), 6, "RESULT_TOO_LARGE ends retries: no member ran twice");
    const letters = (await bus.deadLetters.list({ type })).filter((d) => d.jobType === type);
    assert.deepEqual(
      letters.map((d) => [d.error.code, d.reason]),
      [["RESULT_TOO_LARGE", "permanent"]],
    );

    // A plain job: bus.wait says why.
    const { dispatchId } = await bus.dispatch(job(type, { big: true }));
    const o = await bus.wait(dispatchId, { timeout: 15_000 });
    assert.equal(o.status, "failed");
    assert.equal((o as { error: { code: string } }).error.code, "RESULT_TOO_LARGE");
  });
});

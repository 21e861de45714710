/**
 * @module
 * The Go `bus` package's batch acceptance cases through the mesh (dispatcher + coordinator in-process, worker
 * in-process): completion, terminal attempts, allowFailures in any order, fail-fast cancellation, cancelBatch
 * with members that never started, findBatch fields and errors, and the builder being immutable and not a
 * promise.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { job, NotFoundError, ValidationError, type Bus, type JobContext } from "../../shared/index.ts";
import { toJobRequest } from "../../shared/sdk/job.ts";
import { chunk } from "../../shared/sdk/workflow-dispatch.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { startInProcess, startMesh, type Mesh } from "../helpers/mesh.ts";
import {
  claimed,
  collectEvents,
  kindsFor,
  ncOf,
  queueSettled,
  rawState,
  waitBatch,
  workflowSettled,
} from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let bus: Bus;
let events: Awaited<ReturnType<typeof collectEvents>>;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus();
  await bus.startWorkers();
  events = await collectEvents(bus);
});

after(async () => {
  await events?.stop();
  await mesh?.stop();
});

/** Member behaviour from the payload: wait `ms`, then fail if asked. */
async function member(ctx: JobContext): Promise<string> {
  const p = ctx.bind<{ ms?: number; fail?: boolean } | null>();
  if (p?.ms) await sleep(p.ms);
  if (p?.fail) throw new Error(`member ${ctx.jobId} failed`);
  return "ok";
}

function callbackTypes() {
  const t = {
    m: uniq("batch-m"),
    then: uniq("batch-then"),
    catch: uniq("batch-catch"),
    fin: uniq("batch-finally"),
    progress: uniq("batch-progress"),
  };
  bus.register(t.m, runs.handler(member));
  for (const c of [t.then, t.catch, t.fin, t.progress]) bus.register(c, runs.handler());
  return t;
}

async function settledCallbacks(id: string, t: ReturnType<typeof callbackTypes>) {
  const nc = ncOf(bus);
  await workflowSettled(nc, "batch", id);
  for (const c of [t.then, t.catch, t.fin]) await queueSettled(nc, c);
  return { then: runs.count(t.then), catch: runs.count(t.catch), finally: runs.count(t.fin) };
}

describe("batches through the mesh", () => {
  it("tracks completion: 3 succeed → then once, finally once, processed 3; progress shows the counts", async () => {
    const t = callbackTypes();
    const id = await bus
      .batch(job(t.m), job(t.m), job(t.m))
      .name("three")
      .progress(job(t.progress))
      .then(job(t.then))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await runs.waitCount(t.fin, 1);
    assert.deepEqual(await settledCallbacks(id, t), { then: 1, catch: 0, finally: 1 });
    const b = await bus.findBatch(id);
    assert.deepEqual(
      [b.batchId, b.name, b.total, b.pending, b.processed, b.failed, b.cancelled, b.completed, b.sealed],
      [id, "three", 3, 0, 3, 0, false, true, true],
    );
    assert.equal(b.failure, null);
    assert.equal(b.allowFailures, false);
    const then = runs.of(t.then)[0]!;
    assert.ok(then.workflow?.kind === "batch");
    assert.equal(then.workflow.batchId, id);
    assert.deepEqual([then.workflow.completed, then.workflow.processed, then.workflow.pending], [true, 3, 0]);
    // Progress: counts always add up, and the last call shows the final counts.
    await queueSettled(ncOf(bus), t.progress);
    const progress = runs.of(t.progress).map((r) => r.workflow!);
    assert.ok(progress.length >= 1);
    for (const p of progress) assert.ok(p.kind === "batch" && p.pending + p.processed === p.total);
    const last = progress.reduce((a, p) =>
      p.kind === "batch" && a.kind === "batch" && p.processed > a.processed ? p : a,
    );
    assert.ok(last.kind === "batch" && last.processed === 3 && last.pending === 0);
    assert.deepEqual(await claimed(ncOf(bus), "batch", id), ["finally", "then"]);
  });

  it("waits for the terminal attempt: retry(1) failing once → failed 0, processed 1, then once, catch never", async () => {
    const t = callbackTypes();
    const flaky = uniq("batch-flaky");
    bus.register(
      flaky,
      runs.handler((ctx) => {
        if (ctx.attempt === 0) throw new Error("first attempt fails");
      }),
    );
    const id = await bus
      .batch(job(flaky).retry(1))
      .then(job(t.then))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await runs.waitCount(t.fin, 1);
    assert.deepEqual(await settledCallbacks(id, t), { then: 1, catch: 0, finally: 1 });
    assert.deepEqual(
      runs.of(flaky).map((r) => r.attempt),
      [0, 1],
    );
    const b = await bus.findBatch(id);
    assert.deepEqual([b.failed, b.processed, b.completed, b.cancelled], [0, 1, true, false]);
  });

  it("allowFailures: whatever the order of failures, catch once, then once, finally once, no batch_failed", async () => {
    const t = callbackTypes();
    const orders = [
      [{ fail: true }, { ms: 300 }, { ms: 300 }],
      [{}, {}, { ms: 300, fail: true }],
      [{ ms: 200, fail: true }, { fail: true }, { ms: 400 }],
    ];
    const ids: string[] = [];
    for (const o of orders) {
      const cb = { then: uniq("af-then"), catch: uniq("af-catch"), fin: uniq("af-fin") };
      for (const c of Object.values(cb)) bus.register(c, runs.handler());
      const id = await bus
        .batch(...o.map((p) => job(t.m, p)))
        .allowFailures()
        .then(job(cb.then))
        .catch(job(cb.catch))
        .finally(job(cb.fin))
        .dispatch();
      ids.push(id);
      await runs.waitCount(cb.fin, 1);
      assert.deepEqual(await settledCallbacks(id, { ...t, ...cb }), { then: 1, catch: 1, finally: 1 });
      const failures = o.filter((p) => p.fail).length;
      const b = await bus.findBatch(id);
      assert.deepEqual(
        [b.allowFailures, b.completed, b.cancelled, b.processed, b.pending, b.failed],
        [true, true, false, 3, 0, failures],
      );
      assert.match(runs.of(cb.catch)[0]!.error?.message ?? "", /failed/);
    }
    await waitFor("every batch_completed event", () =>
      ids.every((id) => kindsFor(events.events, id).get("batch_completed") === 1),
    );
    for (const id of ids) {
      const k = kindsFor(events.events, id);
      assert.equal(k.get("batch_failed"), undefined, `no batch_failed for ${id}`);
      assert.equal(k.get("batch_cancelled"), undefined);
    }
  });

  it("fail-fast (no allowFailures): cancelled + completed, catch and finally once, then never, batch_failed + batch_cancelled once", async () => {
    const t = callbackTypes();
    const id = await bus
      .batch(job(t.m, { fail: true }), job(t.m, { ms: 500 }), job(t.m, { ms: 500 }))
      .then(job(t.then))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await runs.waitCount(t.fin, 1);
    await runs.waitCount(t.catch, 1);
    const cancelled = await bus.findBatch(id);
    assert.deepEqual([cancelled.cancelled, cancelled.completed, cancelled.failed], [true, true, 1]);
    assert.match(cancelled.failure?.message ?? "", /failed/);
    // Members still running finish and are counted; the batch stays cancelled.
    const b = await waitBatch(bus, id, (x) => x.processed === 3);
    assert.deepEqual([b.pending, b.cancelled, b.completed], [0, true, true]);
    assert.deepEqual(await settledCallbacks(id, t), { then: 0, catch: 1, finally: 1 });
    assert.deepEqual(await claimed(ncOf(bus), "batch", id), ["catch", "finally"]);
    const cat = runs.of(t.catch)[0]!;
    assert.ok(cat.workflow?.kind === "batch" && cat.workflow.cancelled && cat.workflow.completed);
    await waitFor("batch_failed and batch_cancelled", () => {
      const k = kindsFor(events.events, id);
      return k.get("batch_failed") && k.get("batch_cancelled");
    });
    const k = kindsFor(events.events, id);
    assert.deepEqual(
      [k.get("batch_failed"), k.get("batch_cancelled"), k.get("batch_completed")],
      [1, 1, undefined],
    );
  });

  it("cancelBatch: members not started (some delayed) never run, are counted as processed; catch + finally once", async () => {
    const t = callbackTypes();
    const idle = uniq("batch-idle"); // no worker serves it yet
    const id = await bus
      .batch(job(idle), job(idle), job(idle).delay(800), job(idle).delay(800))
      .then(job(t.then))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await bus.cancelBatch(id, "stop it");
    const now = await bus.findBatch(id);
    assert.deepEqual([now.cancelled, now.completed, now.total, now.processed], [true, true, 4, 0]);
    assert.equal(now.pending + now.processed, now.total);
    assert.equal(now.failure?.code, "CANCELLED");
    await runs.waitCount(t.catch, 1);
    await runs.waitCount(t.fin, 1);
    assert.equal(runs.of(t.catch)[0]!.error?.message, "stop it");
    // A worker for the members starts only now: it learns of the cancellation and skips every member.
    const late = await mesh.bus();
    const ran: string[] = [];
    late.register(idle, (ctx) => {
      ran.push(ctx.jobId);
    });
    await late.startWorkers();
    const b = await waitBatch(bus, id, (x) => x.processed === 4);
    assert.deepEqual([b.pending, b.skipped, b.failed, b.cancelled, b.completed], [0, 4, 0, true, true]);
    assert.deepEqual(ran, []);
    assert.deepEqual(await settledCallbacks(id, t), { then: 0, catch: 1, finally: 1 });
    await late.shutdown();
    // Cancelling again, or an unknown batch.
    await bus.cancelBatch(id);
    assert.equal(runs.count(t.catch), 1);
    await assert.rejects(bus.cancelBatch("bat_unknown"), NotFoundError);
  });

  it("findBatch: fields while running add up; NotFoundError for an unknown id", async () => {
    const slow = uniq("batch-slow");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    bus.register(slow, async (ctx) => {
      started++;
      if (ctx.bind<{ wait?: boolean }>().wait) await gate;
    });
    const id = await bus
      .batch(job(slow, {}), job(slow, { wait: true }), job(slow, { wait: true }))
      .dispatch();
    const mid = await waitBatch(bus, id, (b) => b.processed === 1);
    assert.deepEqual([mid.total, mid.pending, mid.processed, mid.completed], [3, 2, 1, false]);
    await waitFor("both gated members to start", () => started === 3);
    assert.equal((await bus.findBatch(id)).processed, 1, "running members are not processed yet");
    release();
    const end = await waitBatch(bus, id, (b) => b.completed);
    assert.deepEqual([end.total, end.pending, end.processed, end.failed], [3, 0, 3, 0]);
    const s = await rawState(ncOf(bus), "batch", id);
    assert.equal(s.kind === "batch" && s.total - s.processed, 0);
    await assert.rejects(bus.findBatch("bat_nope"), NotFoundError);
    await assert.rejects(bus.findBatch("bat_nope"), { code: "NOT_FOUND", message: /bat_nope/ });
  });

  it("a batch created in several chunks through two dispatcher replicas is recorded whole", async () => {
    const extra = await startInProcess("dispatcher", mesh.url);
    try {
      const nobody = uniq("batch-chunks"); // nothing runs them: this is about creation
      // 4 chunks each (~560 B a member against a 512 KiB budget per request); a chunk landing on the replica
      // whose cached record is a chunk behind was refused.
      const pad = "x".repeat(500);
      const members = Array.from({ length: 3_500 }, (_, i) => job(nobody, { i, pad }));
      const budget = Math.floor((ncOf(bus).info?.max_payload ?? 1024 * 1024) / 2);
      assert.ok(
        chunk(
          members.map((j) => toJobRequest(j)),
          budget,
        ).length >= 4,
        "several chunks per batch",
      );
      for (let k = 0; k < 5; k++) {
        const id = await bus.batch(...members).dispatch();
        const b = await bus.findBatch(id);
        assert.deepEqual([b.total, b.sealed, b.pending], [3_500, true, 3_500]);
      }
    } finally {
      await extra.stop();
    }
  });

  it("builders: empty batch is a ValidationError, then(fn) and await fail loudly, each call returns a new builder", async () => {
    const a = uniq("batch-builder");
    assert.throws(() => bus.batch(), ValidationError);
    const base = bus.batch(job(a));
    assert.throws(() => base.then((() => undefined) as never), /did you forget \.dispatch\(\)\?/);
    await assert.rejects(async () => {
      await (bus.batch(job(a)) as unknown as Promise<unknown>);
    }, /did you forget \.dispatch\(\)\?/);
    await assert.rejects(async () => {
      await (bus.batch(job(a)) as unknown as Promise<unknown>);
    }, ValidationError);
    const named = base
      .name("n")
      .allowFailures()
      .then(job(`${a}-then`));
    assert.notEqual(named, base);
    const nc = ncOf(bus);
    const [plain, full] = await Promise.all([base.dispatch(), named.dispatch()]);
    const sp = await rawState(nc, "batch", plain);
    const sf = await rawState(nc, "batch", full);
    assert.ok(sp.kind === "batch" && sf.kind === "batch");
    assert.deepEqual([sp.name, sp.allowFailures, sp.callbacks.then], ["", false, undefined]);
    assert.deepEqual([sf.name, sf.allowFailures, sf.callbacks.then?.type], ["n", true, `${a}-then`]);
    assert.notEqual(plain, full);
  });
});

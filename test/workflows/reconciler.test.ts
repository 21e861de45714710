/**
 * @module
 * No workflow hangs forever: the coordinator's reconciler cancels a batch whose creation was interrupted
 * (never sealed: CREATION_INTERRUPTED) and fails a batch or chain waiting on a job type no live worker serves
 * (NO_WORKER), with catch and finally run once; a slow member with a live worker is not failed.
 * Deadlines are short here (1.5 s) so the reconciler acts within the test.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { job, type Bus } from "../../shared/index.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import {
  claimed,
  ncOf,
  queueSettled,
  rawState,
  waitBatch,
  waitChain,
  workflowSettled,
} from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

const DEADLINE_MS = 1_500;

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();
const t = { ok: uniq("rc-ok"), catch: uniq("rc-catch"), fin: uniq("rc-fin"), then: uniq("rc-then") };

before(async () => {
  mesh = await startMesh({
    env: {
      JETBUS_CREATION_TIMEOUT_MS: String(DEADLINE_MS),
      JETBUS_NO_WORKER_DEADLINE_MS: String(DEADLINE_MS),
      JETBUS_RECONCILE_INTERVAL_MS: "300",
    },
  });
  bus = await mesh.bus();
  for (const type of Object.values(t)) bus.register(type, runs.handler());
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

async function request(subject: string, body: unknown): Promise<{ ok: boolean; appended?: number }> {
  const reply = await ncOf(bus).request(subject, JSON.stringify(body), { timeout: 5_000 });
  return reply.json();
}

async function callbacksOnce(kind: "chain" | "batch", id: string): Promise<void> {
  const nc = ncOf(bus);
  await runs.waitCount(t.catch, 1);
  await workflowSettled(nc, kind, id);
  await queueSettled(nc, t.catch);
  await queueSettled(nc, t.fin);
  const mine = (type: string) =>
    runs
      .of(type)
      .filter(
        (r) =>
          (kind === "chain"
            ? r.workflow?.kind === "chain" && r.workflow.chainId
            : r.workflow?.kind === "batch" && r.workflow.batchId) === id,
      );
  assert.equal(mine(t.catch).length, 1, "catch once");
  assert.equal(mine(t.fin).length, 1, "finally once");
  assert.equal(mine(t.then).length, 0, "then never");
}

describe("the reconciler", () => {
  it("cancels a batch whose creation stopped (create + append, never sealed): CREATION_INTERRUPTED", async () => {
    const id = uniq("bat-interrupted").replace(/[^A-Za-z0-9_-]/g, "_");
    const member = (i: number) => ({ type: t.ok, options: {}, payload: { i } });
    const cb = (type: string) => ({ type, options: {} });
    const created = await request(REQUEST_SUBJECTS.batchCreate, {
      v: 1,
      batch_id: id,
      jobs: [member(0), member(1)],
      seal: false,
      then: cb(t.then),
      catch: cb(t.catch),
      finally: cb(t.fin),
    });
    assert.deepEqual([created.ok, created.appended], [true, 2]);
    const appended = await request(REQUEST_SUBJECTS.batchAppend, {
      v: 1,
      batch_id: id,
      offset: 2,
      jobs: [member(2)],
    });
    assert.deepEqual([appended.ok, appended.appended], [true, 3]);
    // The members run (their worker is live), but an unsealed batch cannot complete.
    const ran = await waitBatch(bus, id, (b) => b.processed === 3);
    assert.deepEqual([ran.sealed, ran.completed], [false, false]);
    const b = await waitBatch(bus, id, (x) => x.completed, 10_000);
    assert.deepEqual([b.cancelled, b.completed, b.sealed, b.total, b.pending], [true, true, false, 3, 0]);
    assert.equal(b.failure?.code, "CREATION_INTERRUPTED");
    assert.match(b.failure?.message ?? "", /never sealed/);
    await callbacksOnce("batch", id);
    const cat = runs.of(t.catch).find((r) => r.workflow?.kind === "batch" && r.workflow.batchId === id)!;
    assert.equal(cat.error?.code, "CREATION_INTERRUPTED");
    assert.deepEqual(await claimed(ncOf(bus), "batch", id), ["catch", "finally"]);
    // A late seal changes nothing of the outcome: the batch stays cancelled and then is never published.
    await request(REQUEST_SUBJECTS.batchSeal, { v: 1, batch_id: id, total: 3 });
    const after = await bus.findBatch(id);
    assert.deepEqual([after.cancelled, after.failure?.code], [true, "CREATION_INTERRUPTED"]);
    assert.deepEqual(await claimed(ncOf(bus), "batch", id), ["catch", "finally"]);
  });

  it("fails a batch with a member type no worker serves by the deadline (NO_WORKER) instead of hanging", async () => {
    const nobody = uniq("rc-nobody");
    const started = Date.now();
    const id = await bus
      .batch(job(t.ok), job(nobody), job(t.ok))
      .then(job(t.then))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    const b = await waitBatch(bus, id, (x) => x.completed, 10_000);
    assert.ok(Date.now() - started >= DEADLINE_MS, "not before the deadline");
    assert.deepEqual([b.cancelled, b.completed], [true, true]);
    assert.equal(b.failure?.code, "NO_WORKER");
    assert.match(b.failure?.message ?? "", new RegExp(`no live worker serves ${nobody}`));
    await callbacksOnce("batch", id);
  });

  it("fails a chain whose next node has no worker (NO_WORKER); the earlier node ran once", async () => {
    const nobody = uniq("rc-nobody");
    const id = await bus
      .chain(job(t.ok, { chain: true }), job(nobody))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    const c = await waitChain(bus, id, (x) => x.failed, 10_000);
    assert.deepEqual([c.failed, c.completed, c.nextIndex], [true, false, 1]);
    assert.equal(c.failure?.code, "NO_WORKER");
    await callbacksOnce("chain", id);
    assert.equal(runs.all.filter((r) => r.chainId === id && !r.callback).length, 1);
    const s = await rawState(ncOf(bus), "chain", id);
    assert.deepEqual(Object.keys(s.claims).sort(), ["catch", "finally"]);
  });

  it("does not fail a member that is served but slower than the deadline", async () => {
    const slow = uniq("rc-slow");
    bus.register(
      slow,
      runs.handler(async () => {
        await sleep(DEADLINE_MS * 2); // the work itself takes long: that is what is being tested
      }),
    );
    const id = await bus.batch(job(slow)).then(job(t.then)).finally(job(t.fin)).dispatch();
    const b = await waitBatch(bus, id, (x) => x.completed, 15_000);
    assert.deepEqual([b.cancelled, b.failed, b.processed, b.failure], [false, 0, 1, null]);
    await workflowSettled(ncOf(bus), "batch", id);
    assert.deepEqual(await claimed(ncOf(bus), "batch", id), ["finally", "then"]);
  });
});

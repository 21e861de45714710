/**
 * @module
 * kill -9 of the coordinator PROCESS in the middle of a batch (~500 slow-ish members) and of a 10-step chain:
 * a restarted coordinator finishes the workflow with exact counts, every callback once, every step once. And
 * plain jobs sent by `dispatchMany` (no done notice: their waits listen for stored records): the waits of the
 * jobs that ended while no coordinator ran are answered by the restarted one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { fixture, type Fixture } from "../helpers/fixture-workers.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { ProcessPool } from "../helpers/processes.ts";
import {
  ncOf,
  outcomesSettled,
  queueSettled,
  waitBatch,
  waitChain,
  workflowSettled,
} from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let bus: Bus;
const pool = new ProcessPool(() => mesh.url);

before(async () => {
  mesh = await startMesh({ services: ["dispatcher"] });
  bus = await mesh.bus();
});
after(async () => {
  await pool.stopAll();
  await mesh?.stop();
});

async function callbacksOnce(fx: Fixture, names: ("then" | "finally" | "catch")[], zero: string[]) {
  await waitFor(`${names.join(", ")} to run`, () => names.every((n) => fx.count(n) >= 1), {
    timeoutMs: 20_000,
  });
  await outcomesSettled(ncOf(bus));
  for (const n of names) await queueSettled(ncOf(bus), fx.type(n));
  for (const n of names) assert.equal(fx.count(n), 1, `${n} once`);
  for (const n of zero) assert.equal(fx.runs().filter((r) => r.type === fx.type(n as "catch")).length, 0);
}

describe("kill -9 of the coordinator", () => {
  it("mid-run of dispatchMany's jobs: every wait started before the kill answers once a restarted coordinator records them", async () => {
    const fx = fixture("killw", mesh.url);
    await pool.spawn("worker", { ...fx.env, JETBUS_CONCURRENCY: "10" });
    const first = await pool.spawn("coordinator");
    const size = 300;
    const sent = await bus.dispatchMany(
      Array.from({ length: size }, (_, i) => job(fx.type("member"), { i, ms: 60 })),
    );
    const ids = sent.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
    const answered = new Set<string>();
    const waits = ids.map((id) =>
      bus.wait(id, { timeout: 60_000 }).then((o) => {
        answered.add(id);
        return o;
      }),
    );
    // Handled here, so an assertion failing below leaves no unhandled rejections behind.
    for (const w of waits) w.catch(() => undefined);
    await waitFor("a third of the jobs to run", () => fx.count("member") >= 100, { timeoutMs: 20_000 });
    await first.kill();
    const ranAtKill = fx.count("member");
    assert.ok(ranAtKill < size, `killed mid-run (${ranAtKill} ran)`);
    // Jobs go on ending while no coordinator runs. Once 40 more have started (10 at a time), at least 30 of
    // those have ended, with no coordinator to record them: no wait of a job started after the kill answers.
    const target = Math.min(ranAtKill + 40, size);
    await waitFor("more jobs to run with no coordinator", () => fx.count("member") >= target, {
      timeoutMs: 20_000,
    });
    const memberRuns = () => fx.runs().filter((r) => r.type === fx.type("member"));
    const startedAfterKill = memberRuns()
      .slice(ranAtKill)
      .map((r) => ids[(r.payload as { i: number }).i]!);
    assert.deepEqual(
      startedAfterKill.filter((id) => answered.has(id)),
      [],
      "no wait answered while no coordinator ran",
    );

    const second = await pool.spawn("coordinator");
    const outcomes = await Promise.all(waits);
    for (const o of outcomes) assert.deepEqual([o.status, o.attempts], ["succeeded", 1]);
    // Another process finds the same outcomes after the fact, from the records the restarted coordinator stored.
    const other = await mesh.bus();
    try {
      const again = await Promise.all(ids.slice(-20).map((id) => other.wait(id, { timeout: 10_000 })));
      assert.deepEqual(again, outcomes.slice(-20));
    } finally {
      await other.shutdown();
    }
    await queueSettled(ncOf(bus), fx.type("member"));
    const members = memberRuns();
    assert.equal(new Set(members.map((r) => r.jobId)).size, size);
    assert.equal(members.length, size, "the coordinator's crash made no job run twice");
    await second.stop();
  });

  it("mid-batch (500 members): the restarted coordinator finishes it, counts exact, callbacks once", async () => {
    const fx = fixture("killb", mesh.url);
    await pool.spawn("worker", { ...fx.env, JETBUS_CONCURRENCY: "10" });
    const first = await pool.spawn("coordinator");
    const size = 500;
    const id = await bus
      .batch(...Array.from({ length: size }, (_, i) => job(fx.type("member"), { i, ms: 40 })))
      .progress(job(fx.type("progress")))
      .then(job(fx.type("then")))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    const mid = await waitBatch(bus, id, (b) => b.processed >= 100, 20_000);
    await first.kill();
    assert.ok(mid.processed < size, `killed mid-batch (processed ${mid.processed})`);
    const atKill = await bus.findBatch(id);
    assert.equal(atKill.completed, false);

    const second = await pool.spawn("coordinator");
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.pending, b.failed, b.cancelled], [size, size, 0, 0, false]);
    await workflowSettled(ncOf(bus), "batch", id);
    await callbacksOnce(fx, ["then", "finally"], ["catch"]);
    await queueSettled(ncOf(bus), fx.type("progress"));
    const progress = fx.runs().filter((r) => r.type === fx.type("progress"));
    assert.equal(
      Math.max(...progress.map((p) => p.processed!)),
      size,
      "the last progress shows the final counts",
    );
    for (const p of progress) assert.equal(p.processed! + p.pending!, p.total);
    const members = fx.runs().filter((r) => r.type === fx.type("member"));
    assert.equal(new Set(members.map((r) => r.jobId)).size, size);
    assert.equal(members.length, size, "the coordinator's crash made no member run twice");
    await second.stop();
  });

  it("mid-chain (10 steps): the restarted coordinator finishes it, each step once and in order, finally once", async () => {
    const fx = fixture("killc", mesh.url);
    await pool.spawn("worker", fx.env);
    const first = await pool.spawn("coordinator");
    const id = await bus
      .chain(...Array.from({ length: 10 }, (_, i) => job(fx.type("step"), { i, ms: 100 })))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    const mid = await waitChain(bus, id, (c) => c.nextIndex >= 3, 20_000);
    await first.kill();
    assert.ok(mid.nextIndex < 10 && !mid.completed, `killed mid-chain (next ${mid.nextIndex})`);

    const second = await pool.spawn("coordinator");
    const c = await waitChain(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([c.nextIndex, c.failed, c.failure], [10, false, null]);
    await workflowSettled(ncOf(bus), "chain", id);
    await callbacksOnce(fx, ["finally"], ["catch"]);
    await queueSettled(ncOf(bus), fx.type("step"));
    const steps = fx.runs().filter((r) => r.type === fx.type("step"));
    assert.deepEqual(
      steps.map((r) => (r.payload as { i: number }).i),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    await second.stop();
  });
});

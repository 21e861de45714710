/**
 * @module
 * One 2,000-member batch on two coordinator PROCESSES and two worker PROCESSES, with duplicate outcome
 * messages injected by hand (copies of captured `jetbus.outcomes.*` messages republished onto
 * `jetbus.outcomes.x`, during the run and again after it): counts are exact, then and finally run once each,
 * and the last progress call shows the final counts.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { job, type Bus } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { fixture } from "../helpers/fixture-workers.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { ProcessPool } from "../helpers/processes.ts";
import {
  claimed,
  ncOf,
  outcomesSettled,
  queueSettled,
  waitBatch,
  workflowSettled,
} from "../helpers/workflow-kit.ts";

const SIZE = 2_000;

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

it("2 coordinators + 2 workers, 2,000 members, injected duplicate outcomes: exact counts, callbacks once", async () => {
  const fx = fixture("big", mesh.url);
  await Promise.all([
    pool.spawn("coordinator"),
    pool.spawn("coordinator"),
    fx.worker({ JETBUS_CONCURRENCY: "50" }).then((w) => pool.track(w)),
    fx.worker({ JETBUS_CONCURRENCY: "50" }).then((w) => pool.track(w)),
  ]);

  // Capture outcome messages as workers store them, and republish copies (new messages, so not deduplicated).
  const nc = ncOf(bus);
  const js = jetstream(nc);
  const captured: Uint8Array[] = [];
  let injected = 0;
  const copies: Promise<unknown>[] = [];
  const sub = nc.subscribe("jetbus.outcomes.>", {
    callback: (_err, m) => {
      if (m.subject === "jetbus.outcomes.x") return;
      captured.push(m.data);
      if (captured.length % 2 === 1) {
        injected++;
        copies.push(js.publish("jetbus.outcomes.x", m.data));
      }
    },
  });
  await nc.flush();

  const members = Array.from({ length: SIZE }, (_, i) => job(fx.type("member"), { i }));
  const id = await bus
    .batch(...members)
    .name("big")
    .progress(job(fx.type("progress")))
    .then(job(fx.type("then")))
    .catch(job(fx.type("catch")))
    .finally(job(fx.type("finally")))
    .dispatch();

  const done = await waitBatch(bus, id, (b) => b.completed, 40_000);
  assert.deepEqual(
    [done.total, done.processed, done.pending, done.failed, done.cancelled],
    [SIZE, SIZE, 0, 0, false],
  );
  await waitFor("then and finally to run", () => fx.count("then") >= 1 && fx.count("finally") >= 1, {
    timeoutMs: 15_000,
  });
  sub.unsubscribe();
  await Promise.all(copies);
  assert.ok(injected >= 2, `duplicates were injected during the run (${injected})`);

  // Every captured outcome message once more, after the end: nothing may change.
  await Promise.all(captured.map((data) => js.publish("jetbus.outcomes.x", data)));
  await outcomesSettled(nc, 20_000);
  await workflowSettled(nc, "batch", id);
  for (const t of ["then", "finally", "catch", "progress"] as const) await queueSettled(nc, fx.type(t));

  const after = await bus.findBatch(id);
  assert.deepEqual([after.processed, after.pending, after.failed, after.completed], [SIZE, 0, 0, true]);
  assert.equal(fx.count("then"), 1, "then ran once");
  assert.equal(fx.count("finally"), 1, "finally ran once");
  assert.equal(fx.count("catch"), 0);
  assert.deepEqual(await claimed(nc, "batch", id), ["finally", "then"]);

  // Every member ran (on one of the two workers); the last progress call shows the final counts.
  const runs = fx.runs();
  const seen = new Set(
    runs.filter((r) => r.type === fx.type("member")).map((r) => (r.payload as { i: number }).i),
  );
  assert.equal(seen.size, SIZE);
  const progress = runs.filter((r) => r.type === fx.type("progress"));
  assert.ok(progress.length >= 1);
  // (While the batch is still being created, total counts the members appended so far.)
  for (const p of progress) assert.equal(p.processed! + p.pending!, p.total, "pending + processed == total");
  assert.ok(progress.every((p) => p.total! <= SIZE));
  const last = Math.max(...progress.map((p) => p.processed!));
  assert.equal(last, SIZE);
  assert.equal(progress.find((p) => p.processed === SIZE)!.pending, 0);
  const thenRun = runs.find((r) => r.type === fx.type("then"))!;
  assert.deepEqual([thenRun.processed, thenRun.pending], [SIZE, 0]);
});

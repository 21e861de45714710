/**
 * @module
 * Fault injection on a coordinator PROCESS: JETBUS_FAULT=coordinator:after-claim (callbacks claimed in the
 * record, not yet published) and coordinator:after-publish (effects published, outcomes not acked). The
 * process exits 137 at that point; a replacement without the fault finishes the workflow and every callback
 * runs exactly once (counted by the fixture's run log across processes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { waitFor, withTimeout } from "../../shared/testkit/index.ts";
import { fixture } from "../helpers/fixture-workers.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { ProcessPool, type ServiceProcess } from "../helpers/processes.ts";
import {
  ncOf,
  outcomesSettled,
  queueSettled,
  rawWorkflow,
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

async function exitsWith137(p: ServiceProcess, fault: string): Promise<void> {
  const code = await withTimeout(p.exited, 20_000, `${p.name} to hit ${fault}`);
  assert.equal(code, 137, p.lines.slice(-10).join("\n"));
  assert.ok(
    p.lines.some((l) => l.includes("fault injected") && l.includes(fault)),
    "it exited at the fault point",
  );
}

describe("coordinator fault points", () => {
  it("coordinator:after-claim: claims written but not published; the replacement publishes them once", async () => {
    const fx = fixture("claim", mesh.url);
    await pool.spawn("worker", fx.env);
    const faulty = await pool.spawn("coordinator", { JETBUS_FAULT: "coordinator:after-claim" });
    const id = await bus
      .batch(...Array.from({ length: 20 }, (_, i) => job(fx.type("member"), { i })))
      .then(job(fx.type("then")))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    await exitsWith137(faulty, "coordinator:after-claim");

    // The crash window: the batch is complete and its callbacks claimed, but nothing was published.
    const rec = await rawWorkflow(ncOf(bus), "batch", id);
    assert.ok(rec && rec.state.kind === "batch" && rec.state.completed);
    assert.deepEqual(Object.keys(rec.state.claims).sort(), ["finally", "then"]);
    const inOutbox = rec.outbox.flatMap((e) => (e.effect.type === "publish" ? [e.effect.msgId] : []));
    assert.ok(inOutbox.includes(`${id}_then`) && inOutbox.includes(`${id}_finally`), inOutbox.join());
    assert.equal(fx.count("then") + fx.count("finally"), 0);

    const replacement = await pool.spawn("coordinator");
    await workflowSettled(ncOf(bus), "batch", id);
    await outcomesSettled(ncOf(bus));
    for (const t of ["then", "finally"] as const) await queueSettled(ncOf(bus), fx.type(t));
    await waitFor("then and finally to run", () => fx.count("then") === 1 && fx.count("finally") === 1, {
      timeoutMs: 20_000,
    });
    await outcomesSettled(ncOf(bus));
    assert.equal(fx.count("then"), 1);
    assert.equal(fx.count("finally"), 1);
    assert.equal(fx.count("catch"), 0);
    const b = await bus.findBatch(id);
    assert.deepEqual([b.processed, b.pending, b.failed, b.completed, b.cancelled], [20, 0, 0, true, false]);
    await replacement.stop(); // the next test needs its faulty coordinator to get the outcomes
  });

  it("coordinator:after-publish: effects published, outcome not acked; the redelivery changes nothing", async () => {
    const fx = fixture("publish", mesh.url);
    await pool.spawn("worker", fx.env);
    const faulty = await pool.spawn("coordinator", { JETBUS_FAULT: "coordinator:after-publish" });
    const id = await bus
      .chain(...[0, 1, 2].map((i) => job(fx.type("step"), { i })))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    await exitsWith137(faulty, "coordinator:after-publish");
    assert.equal((await bus.findChain(id)).nextIndex, 1, "node 0's outcome was recorded before the crash");

    await pool.spawn("coordinator");
    const c = await waitChain(bus, id, (x) => x.completed, 20_000);
    assert.deepEqual([c.nextIndex, c.failed], [3, false]);
    await workflowSettled(ncOf(bus), "chain", id);
    await waitFor("finally to run", () => fx.count("finally") === 1, { timeoutMs: 20_000 });
    await outcomesSettled(ncOf(bus));
    await queueSettled(ncOf(bus), fx.type("finally"));
    await queueSettled(ncOf(bus), fx.type("step"));
    const steps = fx.runs().filter((r) => r.type === fx.type("step"));
    assert.deepEqual(
      steps.map((r) => r.payload),
      [{ i: 0 }, { i: 1 }, { i: 2 }],
      "each step ran once, in order",
    );
    assert.equal(fx.count("finally"), 1);
    assert.equal(fx.count("catch"), 0);
  });
});

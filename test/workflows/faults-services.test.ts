/**
 * @module
 * Fault injection on a dispatcher PROCESS (dispatcher:after-record: a batch chunk recorded, its members not
 * published) and on a worker PROCESS (worker:after-outcome: an outcome stored, its job not acked). The process
 * exits 137 at that point; a replacement without the fault takes over; the batch finishes with exact counts
 * and then / finally run exactly once (counted by the fixture's run log across processes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job } from "../../shared/index.ts";
import { waitFor, withTimeout } from "../../shared/testkit/index.ts";
import { fixture, type Fixture } from "../helpers/fixture-workers.ts";
import { startInProcess, startMesh, type InProcessService, type Mesh } from "../helpers/mesh.ts";
import { spawnService, type ServiceProcess } from "../helpers/processes.ts";
import { ncOf, outcomesSettled, queueSettled, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";
import type { Bus } from "../../shared/index.ts";

// One server and an in-process coordinator for the file; the dispatcher differs per test.
let mesh: Mesh;
const procs: ServiceProcess[] = [];
const inProcess: InProcessService[] = [];

before(async () => {
  mesh = await startMesh({ services: ["coordinator"] });
});

after(async () => {
  await Promise.allSettled(procs.map((p) => p.stop()));
  await Promise.allSettled(inProcess.map((s) => s.stop()));
  await mesh?.stop();
});

async function exitsWith137(p: ServiceProcess, fault: string): Promise<void> {
  const code = await withTimeout(p.exited, 20_000, `${p.name} to hit ${fault}`);
  assert.equal(code, 137, p.lines.slice(-10).join("\n"));
  assert.ok(p.lines.some((l) => l.includes("fault injected") && l.includes(fault)));
}

/** then and finally ran exactly once, after every barrier that could still produce a run. */
async function callbacksOnce(bus: Bus, fx: Fixture, id: string): Promise<void> {
  const nc = ncOf(bus);
  await workflowSettled(nc, "batch", id, 30_000);
  await waitFor("then and finally to run", () => fx.count("then") >= 1 && fx.count("finally") >= 1, {
    timeoutMs: 20_000,
  });
  await outcomesSettled(nc);
  for (const t of ["then", "finally"] as const) await queueSettled(nc, fx.type(t));
  assert.equal(fx.count("then"), 1, "then once");
  assert.equal(fx.count("finally"), 1, "finally once");
  assert.equal(fx.count("catch"), 0);
}

describe("dispatcher and worker fault points", () => {
  it("dispatcher:after-record: the chunk is recorded, the dispatcher dies; the client's retry to a replacement publishes the members", async () => {
    const fx = fixture("record", mesh.url);
    const faulty = await spawnService("dispatcher", mesh.url, { JETBUS_FAULT: "dispatcher:after-record" });
    procs.push(faulty, await fx.worker({ JETBUS_CONCURRENCY: "50" }));
    // More than one chunk (~560 B a member against a 512 KiB budget per request): the first write leaves the
    // batch unsealed.
    const size = 1_200;
    const pad = "x".repeat(500);
    const bus = await mesh.bus({ requestTimeoutMs: 6_000 });
    const dispatched = bus
      .batch(...Array.from({ length: size }, (_, i) => job(fx.type("member"), { i, pad })))
      .then(job(fx.type("then")))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    await exitsWith137(faulty, "dispatcher:after-record");
    assert.equal(fx.count("member"), 0, "no member was published before the crash");
    const replacement = await spawnService("dispatcher", mesh.url);
    procs.push(replacement);
    const id = await dispatched; // its timed-out request is retried and answered by the replacement
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual(
      [b.total, b.processed, b.pending, b.failed, b.cancelled, b.sealed],
      [size, size, 0, 0, false, true],
    );
    await callbacksOnce(bus, fx, id);
    const members = fx.runs().filter((r) => r.type === fx.type("member"));
    assert.equal(new Set(members.map((r) => r.jobId)).size, size, "every member ran");
    assert.equal(members.length, size, "and each once");
    await replacement.stop();
  });

  it("worker:after-outcome: the outcome is stored, the worker dies before the ack; the redelivery never counts twice", async () => {
    inProcess.push(await startInProcess("dispatcher", mesh.url));
    const fx = fixture("outcome", mesh.url);
    const bus = await mesh.bus();
    const faulty = await fx.worker({ JETBUS_FAULT: "worker:after-outcome", JETBUS_CONCURRENCY: "1" });
    procs.push(faulty);
    const size = 10;
    // retry(2): a job the dying worker had prefetched but not started is redelivered as a "worker died"
    // attempt; with no retries left it would be dead-lettered without running (reported separately).
    const id = await bus
      .batch(...Array.from({ length: size }, (_, i) => job(fx.type("member"), { i }).retry(2)))
      .then(job(fx.type("then")))
      .catch(job(fx.type("catch")))
      .finally(job(fx.type("finally")))
      .dispatch();
    await exitsWith137(faulty, "worker:after-outcome");
    const first = fx.runs().filter((r) => r.type === fx.type("member"));
    assert.ok(first.length >= 1);
    const mid = await waitBatch(bus, id, (x) => x.processed >= 1);
    assert.ok(mid.processed <= first.length, "only outcomes that were stored are counted");

    procs.push(await fx.worker());
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.pending, b.failed, b.cancelled], [size, size, 0, 0, false]);
    await callbacksOnce(bus, fx, id);
    // The member whose ack was lost may run again (at least once), but counts once: processed is exact.
    const ran = new Set(
      fx
        .runs()
        .filter((r) => r.type === fx.type("member"))
        .map((r) => r.jobId),
    );
    assert.equal(ran.size, size);
  });
});

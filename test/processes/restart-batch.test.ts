/**
 * @module
 * Worker deaths vs lost acks (issue 12, item 3), with the services as processes: a nats-server restart in the
 * middle of a batch whose members have retry 0. Members whose outcome was stored (or recorded) before the
 * restart and whose ack was lost come back; each must be settled from what is recorded, never dead-lettered
 * as `worker_died` (replaying such a dead letter would run a succeeded job again). The batch ends with exact
 * counts, no dead letter at all, and its `then` run once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { Reports, testBus } from "../helpers/process-kit.ts";
import { spawnService, spawnWorker, type ServiceProcess } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";
import { claimed, ncOf, queueSettled } from "../helpers/workflow-kit.ts";

const Q = uniq("lostack");
const TOTAL = 3_000;

let server: NatsServer;
let bus: Bus;
let reports: Reports;
let services: ServiceProcess[] = [];

before(async () => {
  server = await startNatsServer({ keepStore: true });
  services = await Promise.all([
    spawnService("dispatcher", server.url),
    spawnService("coordinator", server.url),
    spawnWorker(server.url, [Q], { JETBUS_CONCURRENCY: "50" }),
  ]);
  bus = await testBus(server.url);
  reports = await Reports.open(server.url);
});

after(async () => {
  await bus?.shutdown();
  await reports?.close();
  await Promise.allSettled(services.map((p) => p.kill()));
  await server?.stop();
});

describe("a lost ack is not a dead worker", () => {
  it("nats-server restart mid-batch, retry 0: exact counts, 0 false dead letters, then once", async () => {
    const batchId = await bus
      .batch(...Array.from({ length: TOTAL }, (_, i) => job("t:sleep", { ms: 5, i }).onQueue(Q)))
      .then(job("t:echo", { callback: "then" }).onQueue(Q))
      .dispatch();
    await waitFor(
      "a third of the batch to be processed",
      async () => (await bus.findBatch(batchId)).processed >= TOTAL / 3,
      { timeoutMs: 60_000 },
    );
    // kill -9: the consumer state the server had not yet written (recent acks) is lost, so members whose
    // outcomes are recorded come back.
    await server.restart({ kill: true });
    const b = await waitFor(
      "the batch to complete after the restart",
      async () => {
        const x = await bus.findBatch(batchId);
        return x.completed ? x : null;
      },
      { timeoutMs: 90_000 },
    );
    assert.deepEqual([b.total, b.processed, b.failed, b.cancelled], [TOTAL, TOTAL, 0, false]);
    // Redeliveries of members whose acks were lost may come after completion (one ack wait later).
    await queueSettled(ncOf(bus), "t:sleep", Q, 30_000);
    const dead = await bus.deadLetters.list({ queue: Q, limit: 1_000 });
    assert.deepEqual(
      dead.map((d) => `${d.reason}: ${d.error.message}`),
      [],
      "no member was dead-lettered (a redelivery after a lost ack is settled from the record)",
    );
    const thenId = `${batchId}_then`;
    await reports.waitFor("the then callback to run", (r) => r.jobId === thenId && r.kind === "start");
    assert.deepEqual(await claimed(ncOf(bus), "batch", batchId), ["then"]);
    assert.equal(reports.of((r) => r.jobId === thenId && r.kind === "start").length, 1, "then ran once");
  });

  it("a worker killed after its outcome is stored, before its ack: the member is settled, not dead-lettered", async () => {
    const q = uniq("lostack-fault");
    // This worker exits right after the first outcome it stores (worker:after-outcome), holding one job.
    const doomed = await spawnWorker(server.url, [q], {
      JETBUS_CONCURRENCY: "1",
      JETBUS_FAULT: "worker:after-outcome",
    });
    services.push(doomed);
    const batchId = await bus
      .batch(...Array.from({ length: 20 }, (_, i) => job("t:echo", { i }).onQueue(q)))
      .then(job("t:echo", { callback: "then" }).onQueue(q))
      .dispatch();
    assert.equal(await doomed.exited, 137, "the fault fired");
    services.push(await spawnWorker(server.url, [q], { JETBUS_CONCURRENCY: "10" }));
    const b = await waitFor(
      "the batch to complete",
      async () => {
        const x = await bus.findBatch(batchId);
        return x.completed ? x : null;
      },
      { timeoutMs: 30_000 },
    );
    assert.deepEqual([b.total, b.processed, b.failed], [20, 20, 0]);
    // The member the doomed worker held comes back after the ack wait, after the batch completed.
    await queueSettled(ncOf(bus), "t:echo", q, 30_000);
    assert.deepEqual(
      (await bus.deadLetters.list({ queue: q })).map((d) => `${d.reason}: ${d.error.message}`),
      [],
      "the redelivered member is not taken for a dead worker's",
    );
    const starts = new Map<string, number>();
    for (const r of reports.of((r) => r.queue === q && r.kind === "start"))
      starts.set(r.jobId, (starts.get(r.jobId) ?? 0) + 1);
    assert.deepEqual(
      [...starts].filter(([, n]) => n > 1),
      [],
      "no member ran twice",
    );
  });
});

/**
 * @module
 * Services started together on a fresh cluster (issue 12, item 4): a dispatcher, a coordinator and a worker
 * process start at the same moment as a 3-node cluster that has no streams yet, with R3 streams and KV. They
 * race to provision; each waits for the cluster and for the others' streams, none exits (no bare
 * `TimeoutError`), and a batch then completes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { startCluster, waitFor, type NatsCluster } from "../../shared/testkit/index.ts";
import { testBus } from "../helpers/process-kit.ts";
import { spawnService, spawnWorker, type ServiceProcess } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("fresh");
let cluster: NatsCluster;
let services: ServiceProcess[] = [];
let bus: Bus | undefined;

before(async () => {
  cluster = await startCluster(3, { name: "fresh" });
});

after(async () => {
  await bus?.shutdown();
  await Promise.allSettled(services.map((s) => s.kill()));
  await cluster?.stop();
});

describe("services started together on a fresh cluster", () => {
  it("all become ready, none exits, and a batch completes", { timeout: 120_000 }, async () => {
    const url = cluster.urls.join(",");
    const env = { JETBUS_REPLICAS: "3" };
    const started = await Promise.allSettled([
      spawnService("dispatcher", url, env, { readyTimeoutMs: 60_000 }),
      spawnService("coordinator", url, env, { readyTimeoutMs: 60_000 }),
      spawnWorker(url, [Q], env, { readyTimeoutMs: 60_000 }),
    ]);
    services = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    assert.deepEqual(
      started.map((s) => (s.status === "rejected" ? String(s.reason).slice(-1200) : "ready")),
      ["ready", "ready", "ready"],
    );
    for (const s of services)
      assert.ok(!s.lines.some((l) => /TimeoutError/.test(l) && /"level":"(fatal|error)"/.test(l)), s.name);
    bus = await testBus(url, { JETBUS_ACK_WAIT_MS: "10000" });
    const id = await bus
      .batch(...Array.from({ length: 50 }, (_, i) => job("t:echo", { i }).onQueue(Q)))
      .dispatch();
    await waitFor("the batch to complete", async () => (await bus!.findBatch(id)).completed, {
      timeoutMs: 30_000,
    });
    const b = await bus.findBatch(id);
    assert.deepEqual([b.processed, b.failed], [50, 0]);
    for (const s of services) assert.equal(s.proc.exitCode, null, `${s.name} still running`);
  });
});

/**
 * @module
 * The mesh on a 3-node cluster of the current server line: streams and KV buckets at replicas 3
 * (`JETBUS_REPLICAS=3`), a dispatcher and a coordinator in-process and a worker bus, every one given all three
 * node URLs. A 100-member batch runs to completion; every member runs, `then` and `finally` run once, `catch`
 * never.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectBus, type BusOptions } from "../../shared/sdk/nats-bus.ts";
import { job, type Bus } from "../../shared/index.ts";
import { BUCKETS, STREAMS } from "../../shared/protocol/names.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { CountLatch, startCluster, type NatsCluster } from "../../shared/testkit/index.ts";
import { FAST_ENV, startInProcess, type InProcessService } from "../helpers/mesh.ts";
import { ncOf, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";

const SIZE = 100;
const REPLICAS = 3;

let cluster: NatsCluster;
let services: InProcessService[] = [];
let client: Bus;
let worker: Bus;

function clusterBus(extra: BusOptions = {}): Promise<Bus> {
  return connectBus({
    servers: [...cluster.urls],
    topology: { replicas: REPLICAS, ackWaitMs: Number(FAST_ENV.JETBUS_ACK_WAIT_MS) },
    drainTimeoutMs: 2_000,
    logger: createLogger("cluster-smoke", process.env.TEST_LOG_LEVEL ?? "silent"),
    ...extra,
  });
}

before(async () => {
  cluster = await startCluster(3, { name: "smoke" });
  const env = { JETBUS_REPLICAS: String(REPLICAS) };
  // The dispatcher provisions the layout first; the coordinator then finds it.
  services.push(await startInProcess("dispatcher", cluster.urls, env));
  services.push(await startInProcess("coordinator", cluster.urls, env));
  client = await clusterBus();
  worker = await clusterBus();
});

after(async () => {
  await Promise.allSettled([client, worker].map((b) => b?.shutdown()));
  await Promise.allSettled(services.map((s) => s.stop()));
  services = [];
  await cluster?.stop();
});

it(
  "R3 streams and KV: a 100-member batch completes with then and finally once",
  { timeout: 90_000 },
  async () => {
    const members = new Set<number>();
    let memberRuns = 0;
    const callbacks: string[] = [];
    const bothCallbacks = new CountLatch(2);
    worker.register("smoke:member", (ctx) => {
      memberRuns++;
      members.add(ctx.bind<{ i: number }>().i);
    });
    for (const kind of ["then", "catch", "finally"]) {
      worker.register(`smoke:${kind}`, () => {
        callbacks.push(kind);
        bothCallbacks.countDown();
      });
    }
    await worker.startWorkers();

    const jsm = await jetstreamManager(ncOf(client));
    for (const stream of [STREAMS.jobs, STREAMS.outcomes, `KV_${BUCKETS.workflows}`]) {
      const info = await jsm.streams.info(stream);
      assert.equal(info.config.num_replicas, REPLICAS, `${stream} replicas`);
      assert.equal(info.cluster?.replicas?.length, REPLICAS - 1, `${stream} has a leader and two followers`);
    }

    const id = await client
      .batch(...Array.from({ length: SIZE }, (_, i) => job("smoke:member", { i })))
      .name("cluster-smoke")
      .then(job("smoke:then"))
      .catch(job("smoke:catch"))
      .finally(job("smoke:finally"))
      .dispatch();

    const done = await waitBatch(client, id, (b) => b.completed, 60_000);
    assert.deepEqual([done.total, done.processed, done.failed, done.pending], [SIZE, SIZE, 0, 0]);
    await bothCallbacks.wait(30_000, "then and finally to run");
    await workflowSettled(ncOf(client), "batch", id, 30_000);
    assert.equal(members.size, SIZE);
    assert.ok(memberRuns >= SIZE, `${memberRuns} member runs`);
    assert.deepEqual([...callbacks].sort(), ["finally", "then"]);
  },
);

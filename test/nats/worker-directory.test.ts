/**
 * @module
 * WorkerDirectory against a real nats-server: the view follows heartbeats, shutdowns (purge) and silent deaths
 * (a heartbeat that stops), including while records are rewritten many times a second.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { listWorkers, WorkerDirectory } from "../../shared/nats/worker-directory.ts";
import { RegistryHeartbeat } from "../../shared/worker/registry-heartbeat.ts";

let server: NatsServer;
let nc: NatsConnection;
let kv: KV;
const log = createLogger("test", "silent");

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  kv = await new Kvm(jetstream(nc)).create("jetbus-workers-test");
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

const serving = (type: string) => () => [{ queue: "default", type, concurrency: 1 }];
const ids = (d: WorkerDirectory) =>
  d
    .live()
    .map((r) => r.id)
    .sort();

it("follows heartbeats, a purge on shutdown, and a worker that stops beating", async () => {
  const early = new RegistryHeartbeat(kv, "w-early", 100, serving("a"), log);
  await early.start();
  const directory = new WorkerDirectory(kv, log);
  await directory.start();
  try {
    assert.deepEqual(ids(directory), ["w-early"], "a worker registered before the view started");

    const late = new RegistryHeartbeat(kv, "w-late", 100, serving("b"), log);
    await late.start();
    // A worker that beats once and dies (kill -9): its record stays in the bucket.
    await new RegistryHeartbeat(kv, "w-dying", 100, serving("c"), log).beat();
    await waitFor("the new workers", () => ids(directory).length === 3);
    assert.deepEqual(
      directory
        .live()
        .flatMap((r) => r.serves.map((s) => s.type))
        .sort(),
      ["a", "b", "c"],
    );

    await late.stop(); // a clean shutdown purges its record
    await waitFor("the purge", () => !ids(directory).includes("w-late"));

    // Its heartbeat ages past three intervals.
    await waitFor("the silent worker to drop out", () => !ids(directory).includes("w-dying"));
    assert.deepEqual(ids(directory), ["w-early"], "the beating worker stays through ~all those rewrites");
  } finally {
    await early.stop();
    await directory.stop();
  }
});

it('skips a record that is not a worker record ("serves": 5, not JSON), and keeps the good ones', async () => {
  const dir = new WorkerDirectory(kv, log);
  await dir.start();
  try {
    const good = {
      v: 1,
      id: "wrk_good",
      host: "h",
      pid: 1,
      started_at: Date.now(),
      heartbeat_at: Date.now(),
      heartbeat_ms: 60_000,
      serves: [{ queue: "default", type: "t", concurrency: 1 }],
    };
    await kv.put("wrk_bad", JSON.stringify({ ...good, id: "wrk_bad", serves: 5 }));
    await kv.put("wrk_junk", "\u0000not json");
    await kv.put("wrk_good", JSON.stringify(good));
    await waitFor("the good record to be live", () => dir.live().some((w) => w.id === "wrk_good"));
    assert.deepEqual(
      dir
        .live()
        .map((w) => w.id)
        .filter((id) => id.startsWith("wrk_")),
      ["wrk_good"],
    );
    // Every reader can iterate what it gets.
    for (const w of dir.live()) for (const s of w.serves) assert.equal(typeof s.type, "string");
    assert.deepEqual(
      (await listWorkers(kv)).map((w) => w.id).filter((id) => id.startsWith("wrk_")),
      ["wrk_good"],
    );
  } finally {
    await dir.stop();
  }
});

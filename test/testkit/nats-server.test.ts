// node:test's describe()/test() return promises the runner tracks itself: `void` tells no-floating-promises so.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  Latch,
  NatsServerStartError,
  startCluster,
  startNatsServer,
  waitFor,
  type NatsCluster,
  type NatsServer,
} from "../../shared/testkit/index.ts";

/** Resolves on the client's next "reconnect" status event. */
function nextReconnect(nc: NatsConnection): Latch {
  const latch = new Latch();
  void (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") return latch.resolve();
  })();
  return latch;
}

async function messageCount(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

void describe("startNatsServer", () => {
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer({ name: "testkit-single" });
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    if (server) assert.equal(existsSync(server.workDir), false, "stop() removes the temp dir");
  });

  void test("picks its own port and serves JetStream as soon as it resolves", async () => {
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.port, 4222);
    assert.match(server.monitorUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.running, true);

    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "SMOKE", subjects: ["smoke.>"] });
    await jsm.consumers.add("SMOKE", { durable_name: "reader", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    const pa = await js.publish("smoke.1", "hello", { msgID: "smoke-1" });
    assert.deepEqual([pa.stream, pa.seq, pa.duplicate], ["SMOKE", 1, false]);

    const m = await (await js.consumers.get("SMOKE", "reader")).next({ expires: 2_000 });
    assert.equal(m?.string(), "hello");
    assert.equal(await m.ackAck(), true);
  });

  void test("restart() comes back on the same port with the stream's data, and the client reconnects itself", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "DURABLE", subjects: ["durable.>"] });
    await jetstream(nc).publish("durable.1", "kept", { msgID: "durable-1" });
    const { port, pid } = server;

    const reconnected = nextReconnect(nc);
    await server.restart();
    await reconnected.wait(10_000, "the client to reconnect after restart()");

    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);
    assert.equal(await messageCount(jsm, "DURABLE"), 1);
    assert.equal((await jsm.streams.getMessage("DURABLE", { seq: 1 }))?.string(), "kept");
    const pa = await jetstream(nc).publish("durable.2", "after restart", { msgID: "durable-2" });
    assert.equal(pa.seq, 2);
  });

  void test("kill() then restart() (a crash) keeps the data", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "CRASH", subjects: ["crash.>"] });
    const js = jetstream(nc);
    await js.publish("crash.1", "one", { msgID: "crash-1" });

    await server.kill();
    assert.equal(server.running, false);
    const reconnected = nextReconnect(nc);
    await server.restart();
    await reconnected.wait(10_000, "the client to reconnect after a crash");
    assert.equal(await messageCount(jsm, "CRASH"), 1);

    await js.publish("crash.2", "two", { msgID: "crash-2" });
    // A request sent before the client has reconnected is lost (it times out), so wait for the event.
    const reconnectedAgain = nextReconnect(nc);
    await server.restart({ kill: true });
    await reconnectedAgain.wait(10_000, "the client to reconnect after restart({ kill: true })");
    assert.equal(await messageCount(jsm, "CRASH"), 2);
  });
});

void describe("launcher edge cases", () => {
  void test("servers started concurrently get distinct ports and stores", async () => {
    const started = await Promise.allSettled([startNatsServer(), startNatsServer()]);
    const servers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    try {
      assert.equal(servers.length, 2, "both servers started");
      const [a, b] = servers as [NatsServer, NatsServer];
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.monitorUrl, b.monitorUrl);
      assert.notEqual(a.storeDir, b.storeDir);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  void test("`await using` stops the server and removes its temp dir", async () => {
    let workDir: string;
    {
      await using server = await startNatsServer();
      workDir = server.workDir;
      assert.equal(existsSync(workDir), true);
    }
    assert.equal(existsSync(workDir), false);
  });

  void test("a server that fails to start reports its own output, without waiting for the timeout", async () => {
    const t0 = performance.now();
    await assert.rejects(startNatsServer({ config: "cluster { listen: " }), (err: unknown) => {
      assert.ok(err instanceof NatsServerStartError);
      assert.match(err.message, /exited during startup/);
      assert.match(err.logs, /server\.conf/);
      return true;
    });
    assert.ok(performance.now() - t0 < 5_000);
  });
});

void describe("startCluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  before(async () => {
    cluster = await startCluster(3);
    nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  after(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  void test("forms with distinct nodes", () => {
    assert.equal(cluster.servers.length, 3);
    assert.equal(new Set(cluster.urls).size, 3);
    assert.equal(new Set(cluster.servers.map((s) => s.clusterUrl)).size, 3);
  });

  void test("an R3 stream keeps accepting publishes after its leader is killed, and the node rejoins", async () => {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 });
    await js.publish("r3.1", "before", { msgID: "r3-1", timeout: 2_000 });

    const leader = (await jsm.streams.info("R3")).cluster?.leader;
    const victim = cluster.servers.find((s) => s.name === leader);
    assert.ok(victim, `stream leader ${leader} is one of our nodes`);
    const { url, clusterUrl } = victim;
    await victim.kill();

    // No leader for a few seconds: publishes fail fast ("no responders") or time out; retry with one msgID.
    const pa = await waitFor(
      "a publish to R3 to be accepted after killing its leader",
      () => js.publish("r3.2", "after", { msgID: "r3-2", timeout: 2_000 }),
      { timeoutMs: 25_000, intervalMs: 100 },
    );
    assert.equal(pa.seq, 2);
    const info = await jsm.streams.info("R3");
    assert.notEqual(info.cluster?.leader, leader);
    assert.equal(info.state.messages, 2);

    await victim.restart();
    assert.deepEqual([victim.url, victim.clusterUrl], [url, clusterUrl]);
    await cluster.waitUntilFormed();
    await victim.waitForHealthy();
    await waitFor("every R3 replica to be current", async () => {
      const replicas = (await jsm.streams.info("R3")).cluster?.replicas ?? [];
      return replicas.length === 2 && replicas.every((r) => r.current);
    });
  });
});

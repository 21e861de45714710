/**
 * @module
 * The NATS server goes away under running service PROCESSES (dispatcher, coordinator, worker): every
 * service's /readyz says 503 while it is down and 200 again after, /healthz stays 200; after a restart on the
 * same port and store, jobs dispatched before it all complete (none lost; at-least-once is fine, but a
 * redelivery after a lost ack is a duplicate, never a "worker died" failure or dead letter) and jobs
 * dispatched after it complete WITHOUT restarting any service. Publishes and requests that nats.js dropped
 * while disconnected are re-sent on reconnect, and a client that reconnects late still sees its outcomes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { job } from "../../shared/sdk/job.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { httpGet, httpPort, Reports, testBus } from "../helpers/process-kit.ts";
import { type ServiceProcess, spawnService, spawnWorker } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("restart");

let server: NatsServer;
let bus: Bus;
let reports: Reports;
let services: ServiceProcess[];
let ports: number[];

before(async () => {
  server = await startNatsServer();
  const url = server.url;
  services = await Promise.all([
    spawnService("dispatcher", url),
    spawnService("coordinator", url),
    spawnWorker(url, [Q], { JETBUS_CONCURRENCY: "20" }),
  ]);
  ports = await Promise.all(services.map(httpPort));
  bus = await testBus(url);
  reports = await Reports.open(url);
});

after(async () => {
  await bus?.shutdown();
  await reports?.close();
  await Promise.allSettled((services ?? []).map((p) => p.kill()));
  await server?.stop();
});

const statuses = (path: string) => Promise.all(ports.map(async (p) => (await httpGet(p, path)).status));

/** After a restart: until a service has reconnected, requests to it get no responders. */
const everyServiceReady = () =>
  waitFor(
    "every service to be ready again",
    async () => (await statuses("/readyz")).every((s) => s === 200),
    {
      timeoutMs: 15_000,
    },
  );

async function dispatchSleeps(n: number, ms: number, tag: string): Promise<string[]> {
  const results = await bus.dispatchMany(
    Array.from({ length: n }, (_, i) => job("t:sleep", { ms, tag, i }).onQueue(Q)),
  );
  return results.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
}

async function assertAllSucceed(ids: string[], timeout: number): Promise<void> {
  const outcomes = await Promise.all(ids.map((id) => bus.wait(id, { timeout })));
  const bad = outcomes.map((o, i) => ({ o, id: ids[i] })).filter(({ o }) => o.status !== "succeeded");
  assert.deepEqual(bad, [], "every job succeeded");
}

/** When each job finished, from the job_succeeded events (stamped by the worker). */
async function finishTimes(ids: string[], from: Date): Promise<number[]> {
  const at = new Map<string, number>();
  const sub = bus.observe(
    (e) => {
      if (e.dispatchId && ids.includes(e.dispatchId)) at.set(e.dispatchId, e.at.getTime());
    },
    { fromTime: from, kinds: ["job_succeeded"] },
  );
  try {
    await waitFor("the job_succeeded events", () => at.size === ids.length);
  } finally {
    await sub.stop();
  }
  return [...at.values()];
}

describe("NATS down and back under running service processes", () => {
  it("/readyz is 503 while NATS is down and 200 again after it returns; /healthz stays 200", async () => {
    assert.deepEqual(await statuses("/healthz"), [200, 200, 200]);
    assert.deepEqual(await statuses("/readyz"), [200, 200, 200]);

    await server.kill(); // a crash; the store stays
    await waitFor("every service to report not ready", async () =>
      (await statuses("/readyz")).every((s) => s === 503),
    );
    const body = await httpGet(ports[0]!, "/readyz");
    assert.match(body.body, /not connected to NATS/);
    assert.deepEqual(await statuses("/healthz"), [200, 200, 200], "alive while disconnected");

    await server.restart();
    await everyServiceReady();
    const after = await dispatchSleeps(3, 10, "after-crash");
    await assertAllSucceed(after, 15_000);
  });

  it("after server.restart() mid-run, jobs from before and after complete without restarting a service", async () => {
    const pids = services.map((s) => s.proc.pid);
    // Many short jobs: acks are in flight when the server stops, and some are lost with it.
    const before = await dispatchSleeps(400, 5, "before");
    const ids = new Set(before);
    await reports.waitFor("jobs to be flowing", (r) => r.kind === "end" && ids.has(r.dispatchId), 40);

    // Waits that span the restart, as an application's would.
    const spanning = Promise.all(before.map((id) => bus.wait(id, { timeout: 30_000 })));
    await server.restart(); // graceful stop, same port and store
    // A dispatcher that has not reconnected yet answers nobody: UNAVAILABLE (retryable) at once. Wait for it.
    await everyServiceReady();
    const later = await dispatchSleeps(10, 20, "later");
    assert.deepEqual(
      (await spanning).map((o) => o.status),
      before.map(() => "succeeded"),
    );
    await assertAllSucceed([...before, ...later], 30_000);

    // No service was restarted or died.
    assert.deepEqual(
      services.map((s) => s.proc.exitCode),
      [null, null, null],
    );
    assert.deepEqual(
      services.map((s) => s.proc.pid),
      pids,
    );
    assert.deepEqual(await statuses("/readyz"), [200, 200, 200]);
    // A job whose ack was lost is redelivered after the ack wait; once nothing is pending or unacked, every
    // redelivery has happened. Such a redelivery is a duplicate, not a dead worker: nothing is dead-lettered.
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await waitFor(
      "no job pending or unacked",
      async () => {
        const c = await jsm.consumers.info(STREAMS.jobs, jobConsumerName(Q, "t:sleep"));
        return c.num_pending + c.num_ack_pending === 0;
      },
      { timeoutMs: 15_000 },
    );
    await nc.close();
    const dead = await bus.deadLetters.list({ queue: Q });
    assert.deepEqual(
      dead.map((d) => `${d.reason}: ${d.error.message}`),
      [],
      "no job was dead-lettered",
    );
  });

  it("a JetStream publish made while the connection is down is re-sent on reconnect, not after its time-out", async () => {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "PROBE", subjects: ["probe.>"] });
    const publisher = new JetStreamPublisher(nc, { timeoutMs: 8_000 });
    try {
      const down = (async () => {
        for await (const s of nc.status()) if (s.type === "disconnect") return;
      })();
      await server.kill();
      await down;
      const t0 = Date.now();
      const acked = publisher.publish("probe.x", "while down", { msgId: "probe-1" });
      await server.restart();
      const ack = await acked;
      assert.equal(ack.stream, "PROBE");
      assert.ok(Date.now() - t0 < 5_000, `acked ${Date.now() - t0} ms after the publish`);
      assert.equal((await jsm.streams.info("PROBE")).state.messages, 1);
      await everyServiceReady(); // for the next test
    } finally {
      publisher.close();
      await nc.close();
    }
  });

  it("a client that reconnects late still gets its outcomes, and a dispatch sent while it is disconnected is answered", async () => {
    const RECONNECT_WAIT = 7_000;
    const nc = await connect({
      servers: server.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT,
      noAsyncTraces: true,
    });
    const late = await connectBus({ connection: nc, logger: createLogger("late", "silent") });
    try {
      const reconnected = (async () => {
        for await (const s of nc.status()) if (s.type === "reconnect") return Date.now();
        return 0;
      })();
      const startedAt = new Date();
      const ids = await Promise.all(
        [1, 2, 3, 4, 5, 6].map(
          async (i) => (await late.dispatch(job("t:sleep", { ms: 300, i }).onQueue(Q))).dispatchId,
        ),
      );
      const waits = ids.map((id) => late.wait(id, { timeout: 25_000 }));
      await reports.waitFor(
        "the first job to start",
        (r) => r.kind === "start" && ids.includes(r.dispatchId),
        1,
        30_000,
      );
      await server.restart();
      const restartedAt = Date.now();
      await everyServiceReady();
      // The services are back and finish the jobs; this client is still waiting to reconnect, so it misses
      // their done notices, and the dispatch it sends now is dropped by its NATS client.
      const sentAt = Date.now();
      const sent = late
        .dispatch(job("t:echo", { late: true }).onQueue(Q))
        .then((r) => ({ ...r, at: Date.now() }));
      const outcomes = await Promise.all(waits);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ids.map(() => "succeeded"),
      );
      const back = await reconnected;
      const answered = await sent;
      assert.ok(back > sentAt, "the dispatch was sent while this client was disconnected");
      assert.ok(
        answered.at - back < 2_000,
        `dispatch answered ${answered.at - back} ms after the client reconnected (re-sent, not timed out)`,
      );
      assert.equal((await late.wait(answered.dispatchId, { timeout: 10_000 })).status, "succeeded");
      // The worker's outcomes were not held up by publishes lost in the restart (re-sent on reconnect, not
      // after the 5 s PubAck time-out), so the jobs were all done long before this client came back.
      const finished = await finishTimes(ids, startedAt);
      assert.ok(
        Math.max(...finished) - restartedAt < 4_000,
        `jobs finished ${finished.map((t) => t - restartedAt).join(", ")} ms after the restart`,
      );
    } finally {
      await late.shutdown();
      await nc.close();
    }
  });
});

/**
 * @module
 * What operators see of running service PROCESSES: every service's /healthz, /readyz and Prometheus /metrics
 * (jetbus_ metrics, e.g. jetbus_jobs_succeeded_total after a job ran on the worker), and the worker registry:
 * a (queue, type) with pending jobs and no live worker shows "NO WORKER" in `jetbus queues` and in the
 * coordinator's metrics, and stops doing so once a worker serving it starts and the jobs run.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { job } from "../../shared/sdk/job.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { runCli } from "../helpers/cli.ts";
import { httpGet, httpPort, metricsOf, metricSum, testBus } from "../helpers/process-kit.ts";
import { type ServiceProcess, spawnService, spawnWorker } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const OBS_Q = uniq("obs");
// The reconciler refreshes the gauges every 500 ms; listing the worker registry can stall for a while.
const GAUGE_WAIT = { timeoutMs: 20_000 };

let server: NatsServer;
let bus: Bus;
let dispatcher: ServiceProcess;
let coordinator: ServiceProcess;
let worker: ServiceProcess;
const procs: ServiceProcess[] = [];

before(async () => {
  server = await startNatsServer();
  [dispatcher, coordinator, worker] = await Promise.all([
    spawnService("dispatcher", server.url),
    spawnService("coordinator", server.url),
    spawnWorker(server.url, [OBS_Q]),
  ]);
  procs.push(dispatcher, coordinator, worker);
  bus = await testBus(server.url);
});

after(async () => {
  await bus?.shutdown();
  await Promise.allSettled(procs.map((p) => p.kill()));
  await server?.stop();
});

describe("health and metrics endpoints", () => {
  it("every service answers /healthz and /readyz with 200, and 404 elsewhere", async () => {
    for (const sp of [dispatcher, coordinator, worker]) {
      const port = await httpPort(sp);
      assert.notEqual(port, 0);
      const health = await httpGet(port, "/healthz");
      assert.deepEqual(health, { status: 200, body: "ok\n" }, `${sp.name} /healthz`);
      const ready = await httpGet(port, "/readyz");
      assert.deepEqual(ready, { status: 200, body: "ready\n" }, `${sp.name} /readyz`);
      assert.equal((await httpGet(port, "/nope")).status, 404);
    }
  });

  it("/metrics is Prometheus text with the jetbus_ metrics of each service", async () => {
    const { dispatchId } = await bus.dispatch(job("t:echo", { hello: 1 }).onQueue(OBS_Q));
    assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    const labels = { queue: OBS_Q, type: "t:echo" };

    const res = await fetch(`http://127.0.0.1:${await httpPort(worker)}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const w = await res.text();
    assert.match(w, /^# HELP jetbus_jobs_succeeded_total /m);
    assert.match(w, /^# TYPE jetbus_jobs_succeeded_total counter$/m);
    assert.equal(metricSum(w, "jetbus_jobs_succeeded_total", labels), 1);
    assert.equal(metricSum(w, "jetbus_job_duration_seconds_count", { ...labels, status: "succeeded" }), 1);
    assert.match(w, /^jetbus_process_cpu_seconds_total /m, "default process metrics, prefixed");

    const d = await metricsOf(dispatcher);
    assert.equal(metricSum(d, "jetbus_jobs_dispatched_total", labels), 1);
    assert.match(d, /^# TYPE jetbus_dispatch_rejected_total counter$/m);

    const c = await waitFor("the coordinator to count the outcome", async () => {
      const text = await metricsOf(coordinator);
      return metricSum(text, "jetbus_outcomes_processed_total") >= 1 ? text : null;
    });
    assert.match(c, /^# TYPE jetbus_types_without_worker gauge$/m);
    assert.match(c, /^# TYPE jetbus_active_workflows gauge$/m);
  });
});

/** The `jetbus queues` row of (queue, type), split into its columns. */
async function queuesRow(queue: string, type: string): Promise<string[] | undefined> {
  const r = await runCli(["queues"], server.url);
  assert.equal(r.code, 0, `jetbus queues (${r.ms} ms):\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^QUEUE\s+TYPE\s+READY\s+DELAYED\s+IN FLIGHT\s+WORKERS/m);
  return r.stdout
    .split("\n")
    .map((l) => l.split(/ {2,}/))
    .find((cells) => cells[0] === queue && cells[1] === type);
}

/** What the coordinator saw, for a failure message. */
async function coordinatorState(): Promise<string> {
  const gauges = (await metricsOf(coordinator)).split("\n").filter((l) => l.includes("without_worker"));
  const cli = await runCli(["queues"], server.url);
  return [...gauges, ...coordinator.lines.slice(-15), cli.stdout].join("\n");
}

describe("worker registry", () => {
  it("a type with pending jobs and no live worker shows NO WORKER until a worker serving it starts", async () => {
    const q = uniq("orphan");
    const labels = { queue: q, type: "t:echo" };
    const ids = await Promise.all(
      [1, 2].map(async (i) => (await bus.dispatch(job("t:echo", { i }).onQueue(q))).dispatchId),
    );

    const row = await queuesRow(q, "t:echo");
    assert.deepEqual(row, [q, "t:echo", "2", "0", "0", "0", "NO WORKER"]);
    // The coordinator's reconciler (every 500 ms here) fills the gauges.
    const orphaned = await waitFor(
      "the coordinator to report the orphaned type",
      async () => {
        const text = await metricsOf(coordinator);
        return metricSum(text, "jetbus_pending_without_worker", labels) === 2 ? text : null;
      },
      GAUGE_WAIT,
    );
    assert.ok(metricSum(orphaned, "jetbus_types_without_worker") >= 1);

    procs.push(await spawnWorker(server.url, [q]));
    for (const id of ids) assert.equal((await bus.wait(id, { timeout: 15_000 })).status, "succeeded");

    const cleared = await waitFor(
      "the coordinator to drop the orphaned type",
      async () => {
        const text = await metricsOf(coordinator);
        return !text.includes(`jetbus_pending_without_worker{queue="${q}"`) ? text : null;
      },
      GAUGE_WAIT,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await coordinatorState()}`);
    });
    assert.equal(metricSum(cleared, "jetbus_types_without_worker"), 0);
    assert.deepEqual(await queuesRow(q, "t:echo"), [q, "t:echo", "0", "0", "0", "1"]);
  });
});

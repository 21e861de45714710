/**
 * @module
 * Prometheus metrics of service PROCESSES (metrics are per process) take the expected values as jobs run:
 * the dispatcher counts dispatches, the worker successes, failures, retries, dead letters and run times per
 * (queue, type); the coordinator's reconciler (every 500 ms here) sets the consumer lag, the types without a
 * worker and the active workflows, and the coordinator counts callback outcomes by kind and status.
 * Tests isolate themselves by queue; the coordinator's label sets shared across tests are compared as deltas.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, REQUEST_SUBJECTS, type Bus } from "../../shared/index.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { metricsOf, metricSum, testBus } from "../helpers/process-kit.ts";
import type { ServiceProcess } from "../helpers/processes.ts";
import { ProcessPool } from "../helpers/processes.ts";
import { ncOf } from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("metrics");

let server: NatsServer;
let bus: Bus;
let dispatcher: ServiceProcess;
let coordinator: ServiceProcess;
let worker: ServiceProcess;
const procs = new ProcessPool(() => server.url);

before(async () => {
  server = await startNatsServer();
  [dispatcher, coordinator, worker] = await Promise.all([
    procs.spawn("dispatcher"),
    procs.spawn("coordinator"),
    procs.worker([Q]),
  ]);
  bus = await testBus(server.url);
});

after(async () => {
  await bus?.shutdown();
  await procs.killAll();
  await server?.stop();
});

/** Waits until `check(metrics text of sp)` holds; the last text goes into the failure message. */
async function metricsUntil(
  sp: ServiceProcess,
  what: string,
  check: (text: string) => boolean,
): Promise<string> {
  let last = "";
  return waitFor(
    what,
    async () => {
      last = await metricsOf(sp);
      return check(last) ? last : null;
    },
    { timeoutMs: 15_000 },
  ).catch((err: Error) => {
    const jetbus = last.split("\n").filter((l) => l.startsWith("jetbus_") && !l.includes("process_"));
    throw new Error(`${err.message}\n${sp.name} metrics:\n${jetbus.join("\n")}`);
  });
}

describe("job counters", () => {
  it("dispatched, succeeded, failed, retried, dead-lettered and durations per (queue, type)", async () => {
    const echo = { queue: Q, type: "t:echo" };
    const fail = { queue: Q, type: "t:fail" };
    const dispatched = await bus.dispatchMany([
      ...[1, 2, 3].map((i) => job("t:echo", { i }).onQueue(Q)),
      job("t:fail").onQueue(Q).retry(1),
    ]);
    const ids = dispatched.map((r) => (r.ok ? r.dispatchId : assert.fail(r.error.message)));
    const outcomes = await Promise.all(ids.map((id) => bus.wait(id, { timeout: 15_000 })));
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["succeeded", "succeeded", "succeeded", "failed"],
    );

    const d = await metricsOf(dispatcher);
    assert.equal(metricSum(d, "jetbus_jobs_dispatched_total", echo), 3);
    assert.equal(metricSum(d, "jetbus_jobs_dispatched_total", fail), 1);

    const w = await metricsUntil(
      worker,
      "the worker's counters",
      (t) => metricSum(t, "jetbus_jobs_dead_lettered_total", fail) === 1,
    );
    assert.equal(metricSum(w, "jetbus_jobs_succeeded_total", echo), 3);
    assert.equal(metricSum(w, "jetbus_jobs_succeeded_total", fail), 0);
    assert.equal(metricSum(w, "jetbus_jobs_failed_total", fail), 1);
    assert.equal(metricSum(w, "jetbus_jobs_failed_total", echo), 0);
    assert.equal(metricSum(w, "jetbus_jobs_retried_total", fail), 1);
    assert.equal(metricSum(w, "jetbus_jobs_retried_total", echo), 0);
    assert.equal(metricSum(w, "jetbus_jobs_dead_lettered_total", echo), 0);
    assert.equal(metricSum(w, "jetbus_job_duration_seconds_count", { ...echo, status: "succeeded" }), 3);
    assert.equal(metricSum(w, "jetbus_job_duration_seconds_count", { ...fail, status: "failed" }), 2);
    assert.match(w, /^# TYPE jetbus_job_duration_seconds histogram$/m);
  });

  it("a retried dispatch request (same dispatch id) is counted once", async () => {
    const labels = { queue: Q, type: "t:sleep" };
    const body = JSON.stringify({
      v: 1,
      job: { type: "t:sleep", queue: Q, dispatch_id: `dsp_retried${Date.now()}`, payload: { ms: 1 } },
    });
    const replies = [];
    for (let i = 0; i < 2; i++)
      replies.push((await ncOf(bus).request(REQUEST_SUBJECTS.dispatch, body, { timeout: 5_000 })).json());
    assert.deepEqual(
      replies.map((r) => (r as { duplicate: boolean }).duplicate),
      [false, true],
    );
    assert.equal(metricSum(await metricsOf(dispatcher), "jetbus_jobs_dispatched_total", labels), 1);
  });

  it("callback outcomes by kind and status", async () => {
    const before = await metricsOf(coordinator);
    const count = (t: string, kind: string, status: string) =>
      metricSum(t, "jetbus_callback_outcomes_total", { kind, status });
    const batchId = await bus
      .batch(job("t:echo"), job("t:fail"))
      .onQueue(Q)
      .catch(job("t:echo", { cb: "catch" }))
      .finally(job("t:fail", { cb: "finally" }))
      .dispatch();
    assert.equal((await bus.wait(batchId, { timeout: 15_000 })).status, "failed");
    const c = await metricsUntil(
      coordinator,
      "both callback outcomes counted",
      (t) =>
        count(t, "catch", "succeeded") === count(before, "catch", "succeeded") + 1 &&
        count(t, "finally", "failed") === count(before, "finally", "failed") + 1,
    );
    assert.equal(count(c, "then", "succeeded"), count(before, "then", "succeeded"));
    assert.equal(count(c, "finally", "succeeded"), count(before, "finally", "succeeded"));
  });
});

describe("reconciler gauges", () => {
  it("consumer lag, types without a worker and active workflows, before and after a worker starts", async () => {
    const q = uniq("lag");
    const echo = { queue: q, type: "t:echo" };
    const plain = await Promise.all(
      [1, 2, 3].map(async (i) => (await bus.dispatch(job("t:echo", { i }).onQueue(q))).dispatchId),
    );
    const batchId = await bus
      .batch(job("t:echo", { m: 0 }), job("t:echo", { m: 1 }))
      .onQueue(q)
      .finally(job("t:echo", { cb: "finally" }))
      .dispatch();
    const chainId = await bus
      .chain(job("t:echo", { n: 0 }))
      .onQueue(q)
      .dispatch();

    // No worker serves q: 3 plain jobs + 2 members + the chain's first node wait. A scrape may fall in the
    // middle of a reconciler pass (lag is set at its start, active workflows at its end): wait for both.
    const waiting = await metricsUntil(
      coordinator,
      "the lag of the unserved queue and the active workflows",
      (t) =>
        metricSum(t, "jetbus_consumer_lag", echo) === 6 &&
        metricSum(t, "jetbus_active_workflows", { kind: "batch" }) === 1 &&
        metricSum(t, "jetbus_active_workflows", { kind: "chain" }) === 1,
    );
    assert.equal(metricSum(waiting, "jetbus_types_without_worker"), 1);
    assert.equal(metricSum(waiting, "jetbus_pending_without_worker", echo), 6);

    await procs.worker([q]);
    for (const id of [...plain, batchId, chainId])
      assert.equal((await bus.wait(id, { timeout: 15_000 })).status, "succeeded", id);
    const done = await metricsUntil(
      coordinator,
      "the gauges to clear",
      (t) =>
        metricSum(t, "jetbus_active_workflows", { kind: "batch" }) === 0 &&
        metricSum(t, "jetbus_active_workflows", { kind: "chain" }) === 0 &&
        metricSum(t, "jetbus_types_without_worker") === 0 &&
        metricSum(t, "jetbus_consumer_lag", echo) === 0,
    );
    assert.equal(metricSum(done, "jetbus_pending_without_worker", echo), 0);
  });
});

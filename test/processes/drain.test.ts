/**
 * @module
 * Graceful drain of a worker PROCESS on SIGTERM: it exits 0 within bounds; a job still running at the drain
 * timeout is released (not an attempt: with retry(0) it is not dead-lettered) and another worker completes
 * it; jobs never fetched stay in the stream for others (a worker holds only what it runs: no prefetch); a short
 * job finishes before the exit and is not re-run.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { job } from "../../shared/sdk/job.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { jsonLines, Reports, testBus } from "../helpers/process-kit.ts";
import { type ServiceProcess, spawnService, spawnWorker } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const LONG_Q = uniq("drain");
const SHORT_Q = uniq("finish");
const DRAIN_MS = 1_000;

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let bus: Bus;
let reports: Reports;
let longWorker: ServiceProcess;
let shortWorker: ServiceProcess;
const procs: ServiceProcess[] = [];

before(async () => {
  server = await startNatsServer();
  const url = server.url;
  const started = await Promise.all([
    spawnService("dispatcher", url),
    spawnService("coordinator", url),
    // One job at a time: one runs, the rest stay in the stream (a worker never holds jobs it has not started).
    spawnWorker(url, [LONG_Q], { JETBUS_CONCURRENCY: "1", JETBUS_DRAIN_TIMEOUT_MS: String(DRAIN_MS) }),
    spawnWorker(url, [SHORT_Q], { JETBUS_DRAIN_TIMEOUT_MS: "3000" }),
  ]);
  procs.push(...started);
  [, , longWorker, shortWorker] = started;
  nc = await connect({ servers: url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  bus = await testBus(url);
  reports = await Reports.open(url);
});

after(async () => {
  await bus?.shutdown();
  await reports?.close();
  await nc?.close();
  await Promise.allSettled(procs.map((p) => p.kill()));
  await server?.stop();
});

const consumerInfo = (queue: string, type: string) =>
  jsm.consumers.info(STREAMS.jobs, jobConsumerName(queue, type));

async function stored(queue: string, type: string): Promise<number> {
  const subject = subjects.job(queue, type);
  const info = await jsm.streams.info(STREAMS.jobs, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

function logged(sp: ServiceProcess, msg: string): Record<string, unknown>[] {
  return jsonLines(sp).filter((l) => l.msg === msg);
}

describe("SIGTERM to a worker process", () => {
  it("releases the job still running at the drain timeout; another worker completes it and the waiting ones", async () => {
    const long = await bus.dispatch(job("t:sleep", { ms: 5_000 }).onQueue(LONG_Q));
    await reports.waitFor("the long job to start", (r) => r.dispatchId === long.dispatchId);
    const rest = await Promise.all(
      [1, 2, 3].map((i) => bus.dispatch(job("t:sleep", { ms: 50, i }).onQueue(LONG_Q))),
    );
    await waitFor("the worker to hold only the long job", async () => {
      const c = await consumerInfo(LONG_Q, "t:sleep");
      return c.num_ack_pending === 1 && c.num_pending === 3;
    });

    const sigterm = Date.now();
    const exited = longWorker.stop();
    // A replacement on the same queue; it re-runs the long job quickly.
    const replacement = spawnWorker(server.url, [LONG_Q], { TEST_SLEEP_MAX_MS: "100" });
    const code = await exited;
    const took = Date.now() - sigterm;
    procs.push(await replacement);
    assert.equal(code, 0, longWorker.lines.slice(-20).join("\n"));
    assert.ok(took >= DRAIN_MS, `waited for the drain timeout (${took} ms)`);
    assert.ok(took < DRAIN_MS + 6_000, `exited within bounds (${took} ms)`);

    const released = logged(longWorker, "releasing jobs");
    assert.ok(
      !released.some((l) => l.why === "not started"),
      `nothing was held unstarted: ${JSON.stringify(released)}`,
    );
    assert.ok(
      released.some((l) => l.why === "still running at drain timeout" && l.jobs === 1),
      JSON.stringify(released),
    );
    // The host's "worker stopped" (with its id), then the service's own last line.
    assert.deepEqual(
      logged(longWorker, "worker stopped").map((l) => typeof l.worker_id),
      ["string", "undefined"],
    );

    const replacementPid = procs.at(-1)!.proc.pid;
    for (const { dispatchId } of [long, ...rest]) {
      const o = await bus.wait(dispatchId, { timeout: 20_000 });
      assert.equal(o.status, "succeeded", `${dispatchId}: ${JSON.stringify(o)}`);
      assert.equal(o.attempts, 1, "a release is not an attempt");
      assert.deepEqual((o as { result: unknown }).result, { pid: replacementPid, attempt: 0 });
    }
    const longStarts = await reports.waitFor(
      "both starts of the long job",
      (r) => r.dispatchId === long.dispatchId && r.kind === "start",
      2,
    );
    assert.deepEqual(
      longStarts.map((s) => [s.pid, s.attempt]),
      [
        [longWorker.proc.pid, 0],
        [replacementPid, 0],
      ],
    );
    const longEnds = await reports.waitFor(
      "the long job's end",
      (r) => r.dispatchId === long.dispatchId && r.kind === "end",
    );
    assert.deepEqual(
      longEnds.map((r) => r.pid),
      [replacementPid],
      "the drained worker never finished it",
    );
    assert.deepEqual(await bus.deadLetters.list({ queue: LONG_Q }), []);
  });

  it("lets a short running job finish before exiting: its outcome is recorded and it is not re-run", async () => {
    const { dispatchId } = await bus.dispatch(job("t:sleep", { ms: 800 }).onQueue(SHORT_Q));
    const [start] = await reports.waitFor("the short job to start", (r) => r.dispatchId === dispatchId);
    assert.equal(start!.pid, shortWorker.proc.pid);
    const sigterm = Date.now();
    const code = await shortWorker.stop();
    assert.equal(code, 0, shortWorker.lines.slice(-20).join("\n"));
    assert.ok(Date.now() - sigterm < 8_000);

    const o = await bus.wait(dispatchId, { timeout: 10_000 });
    assert.equal(o.status, "succeeded");
    assert.deepEqual((o as { result: unknown }).result, { pid: shortWorker.proc.pid, attempt: 0 });
    const mine = await reports.waitFor("the short job's reports", (r) => r.dispatchId === dispatchId, 2);
    assert.deepEqual(
      mine.map((r) => r.kind),
      ["start", "end"],
    );
    assert.equal(
      logged(shortWorker, "drain timeout: releasing jobs still running to other workers").length,
      0,
    );
    // Acked before the exit: nothing is left that could run it again.
    const c = await consumerInfo(SHORT_Q, "t:sleep");
    assert.equal(c.num_ack_pending, 0);
    assert.equal(c.num_pending, 0);
    assert.equal(await stored(SHORT_Q, "t:sleep"), 0);
  });
});

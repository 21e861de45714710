/**
 * @module
 * Worker processes that die: kill -9 mid-job (the job is redelivered after the ack wait to another worker and
 * its outcome is recorded once; the redelivery counts as an attempt), a job that kills its worker every time
 * (dead-lettered as worker_died after retry + 1 deaths, never looping), and the JSON log lines of a failing
 * job (dispatch_id, job_id, type, attempt).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { job } from "../../shared/sdk/job.ts";
import type { Bus, BusEvent } from "../../shared/sdk/types.ts";
import { startNatsServer, waitFor, withTimeout, type NatsServer } from "../../shared/testkit/index.ts";
import { jsonLines, Reports, testBus } from "../helpers/process-kit.ts";
import { type ServiceProcess, spawnService, spawnWorker } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const ACK_WAIT_MS = 2_000;
const ENV = { JETBUS_ACK_WAIT_MS: String(ACK_WAIT_MS) };
const LOG_Q = uniq("logs");

let server: NatsServer;
let bus: Bus;
let reports: Reports;
let logWorker: ServiceProcess;
const procs: ServiceProcess[] = [];
const events: BusEvent[] = [];

before(async () => {
  server = await startNatsServer();
  const started = await Promise.all([
    spawnService("dispatcher", server.url, ENV),
    spawnService("coordinator", server.url, ENV),
    spawnWorker(server.url, [LOG_Q], ENV),
  ]);
  procs.push(...started);
  logWorker = started[2];
  bus = await testBus(server.url, ENV);
  reports = await Reports.open(server.url);
  await bus.observe((e) => void events.push(e)).ready;
});

after(async () => {
  await bus?.shutdown();
  await reports?.close();
  await Promise.allSettled(procs.map((p) => p.kill()));
  await server?.stop();
});

async function worker(queue: string, waitReady = true): Promise<ServiceProcess> {
  const w = await spawnWorker(server.url, [queue], ENV, { waitReady });
  procs.push(w);
  return w;
}

const eventsOf = (dispatchId: string, kind: BusEvent["kind"]) =>
  events.filter((e) => e.dispatchId === dispatchId && e.kind === kind);

/** Runs one more job through the same queue and waits for its event: earlier events are in by then. */
async function settleEvents(queue: string): Promise<void> {
  const { dispatchId } = await bus.dispatch(job("t:echo", { sentinel: true }).onQueue(queue));
  assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
  await waitFor("the sentinel's job_succeeded event", () => eventsOf(dispatchId, "job_succeeded").length > 0);
}

describe("worker processes that die", () => {
  it("kill -9 mid-job: another worker gets the redelivery after the ack wait and it completes once", async () => {
    const q = uniq("kill");
    const pair = await Promise.all([worker(q), worker(q)]);
    const { dispatchId } = await bus.dispatch(job("t:hang-first", { n: 1 }).onQueue(q).retry(1));
    const [first] = await reports.waitFor("the first delivery to start", (r) => r.dispatchId === dispatchId);
    assert.equal(first!.attempt, 0);
    const victim = pair.find((w) => w.proc.pid === first!.pid)!;
    const survivor = pair.find((w) => w !== victim)!;
    const killedAt = Date.now();
    await victim.kill();

    const outcome = await bus.wait(dispatchId, { timeout: 20_000 });
    assert.equal(outcome.status, "succeeded");
    assert.equal(outcome.attempts, 2, "the delivery whose worker died counts as an attempt");
    assert.deepEqual((outcome as { result: unknown }).result, { pid: survivor.proc.pid, attempt: 1 });
    const waited = Date.now() - killedAt;
    assert.ok(waited >= ACK_WAIT_MS / 2, `redelivered only after the ack wait (${waited} ms)`);

    const starts = await reports.waitFor(
      "both starts",
      (r) => r.dispatchId === dispatchId && r.kind === "start",
      2,
    );
    assert.deepEqual(
      starts.map((s) => [s.pid, s.attempt]),
      [
        [victim.proc.pid, 0],
        [survivor.proc.pid, 1],
      ],
    );
    await settleEvents(q);
    const succeeded = eventsOf(dispatchId, "job_succeeded");
    assert.equal(succeeded.length, 1, "the outcome is recorded once");
    assert.equal(succeeded[0]!.attempt, 1);
    assert.equal(eventsOf(dispatchId, "job_failed").length, 0);
    assert.equal(eventsOf(dispatchId, "job_dead_lettered").length, 0);
    assert.deepEqual(await bus.deadLetters.list({ queue: q }), []);
    assert.equal(survivor.proc.exitCode, null, "the survivor keeps running");
  });

  it("a job that kills its worker every time is dead-lettered as worker_died after retry + 1 deaths", async () => {
    const q = uniq("die");
    let w = await worker(q);
    const { dispatchId } = await bus.dispatch(job("t:suicide", { n: 2 }).onQueue(q).retry(1));
    for (let death = 1; death <= 2; death++) {
      const code = await withTimeout(w.exited, 15_000, `worker death ${death}`);
      assert.notEqual(code, 0);
      const starts = await reports.waitFor(
        `start ${death}`,
        (r) => r.dispatchId === dispatchId && r.kind === "start",
        death,
      );
      assert.deepEqual(
        starts.map((s) => s.attempt),
        Array.from({ length: death }, (_, i) => i),
      );
      // The test restarts the crashed worker, like a supervisor would. The redelivery may reach it (and kill
      // it) before it has logged "ready", so its death, not its readiness, is what the loop waits for.
      w = await worker(q, death === 2);
    }
    const outcome = await bus.wait(dispatchId, { timeout: 20_000 });
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.status === "failed" && outcome.error.code, "WORKER_DIED");
    assert.equal(outcome.attempts, 2);

    const dead = await waitFor("the dead letter", async () => {
      const list = await bus.deadLetters.list({ queue: q, type: "t:suicide" });
      return list.length > 0 ? list : null;
    });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.reason, "worker_died");
    assert.equal(dead[0]!.error.code, "WORKER_DIED");
    assert.equal(dead[0]!.dispatchId, dispatchId);
    assert.equal(dead[0]!.attempts, 2);

    await settleEvents(q); // runs on the third worker: it is alive, and the dead job did not run again
    assert.equal(w.proc.exitCode, null, "the third worker survived the third delivery");
    assert.equal(
      reports.of((r) => r.dispatchId === dispatchId).length,
      2,
      "the handler ran twice, not 3 times",
    );
    assert.equal(eventsOf(dispatchId, "job_dead_lettered").length, 1);
    assert.equal(eventsOf(dispatchId, "job_failed").length, 1);
    assert.equal(eventsOf(dispatchId, "job_failed")[0]!.error?.code, "WORKER_DIED");
  });
});

describe("JSON logs", () => {
  it("a failing job's log lines carry dispatch_id, job_id, type and attempt", async () => {
    const { dispatchId } = await bus.dispatch(job("t:fail", { x: 1 }).onQueue(LOG_Q).retry(1));
    const outcome = await bus.wait(dispatchId, { timeout: 15_000 });
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.attempts, 2);
    assert.match(outcome.status === "failed" ? outcome.error.message : "", /boom on attempt 1/);

    await logWorker.waitForLine(new RegExp(`${dispatchId}.*retries spent|retries spent.*${dispatchId}`));
    const lines = jsonLines(logWorker).filter((l) => l.dispatch_id === dispatchId);
    const retrying = lines.find((l) => l.msg === "job failed: retrying");
    const spent = lines.find((l) => l.msg === "job failed: retries spent");
    assert.ok(retrying && spent, JSON.stringify(lines, null, 1));
    for (const [line, attempt, level] of [
      [retrying, 0, "info"],
      [spent, 1, "warn"],
    ] as const) {
      assert.equal(line.job_id, dispatchId);
      assert.equal(line.type, "t:fail");
      assert.equal(line.attempt, attempt);
      assert.equal(line.level, level);
      assert.equal(line.service, "worker");
      assert.equal(typeof line.time, "string");
      assert.match(JSON.stringify(line.error), new RegExp(`boom on attempt ${attempt}`));
    }
  });
});

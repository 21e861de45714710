/**
 * @module
 * Shared state across service REPLICAS running as real processes: `uniqueFor` over two dispatcher processes,
 * and `rateLimit` / `withoutOverlapping` over two worker processes (KV, not per process). Released jobs never
 * use up retries: every job runs once, on attempt 0, and nothing is dead-lettered.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { job, toJobRequest } from "../../shared/sdk/job.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { REQUEST_SUBJECTS, subjects } from "../../shared/protocol/subjects.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { LOCK_TTL_MS, RATE_LIMIT } from "../fixtures/reports.ts";
import { metricsOf, metricSum, Reports, testBus } from "../helpers/process-kit.ts";
import { type ServiceProcess, spawnService, spawnWorker } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const RATE_Q = uniq("rate");
const LOCK_Q = uniq("lock");
// One job per type at a time per worker: any contention seen is between the two processes.
const WORKER_ENV = { JETBUS_CONCURRENCY: "1" };

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let bus: Bus;
let reports: Reports;
let dispatchers: ServiceProcess[];
let workers: ServiceProcess[];
let coordinator: ServiceProcess;

before(async () => {
  server = await startNatsServer();
  const url = server.url;
  [dispatchers, workers, coordinator] = await Promise.all([
    Promise.all([spawnService("dispatcher", url), spawnService("dispatcher", url)]),
    Promise.all([
      spawnWorker(url, [RATE_Q, LOCK_Q], WORKER_ENV),
      spawnWorker(url, [RATE_Q, LOCK_Q], WORKER_ENV),
    ]),
    spawnService("coordinator", url),
  ]);
  nc = await connect({ servers: url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  bus = await testBus(url);
  reports = await Reports.open(url);
});

after(async () => {
  await bus?.shutdown();
  await reports?.close();
  await nc?.close();
  await Promise.allSettled([...(dispatchers ?? []), ...(workers ?? []), coordinator].map((p) => p?.kill()));
  await server?.stop();
});

interface Reply {
  ok: boolean;
  dispatch_id?: string;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

async function rawDispatch(queue: string, payload: unknown, id: string, uniqueForMs: number): Promise<Reply> {
  const body = { v: 1, job: toJobRequest(job("t:echo", payload).onQueue(queue).uniqueFor(uniqueForMs), id) };
  const m = await nc.request(REQUEST_SUBJECTS.dispatch, JSON.stringify(body), { timeout: 5_000 });
  return m.json<Reply>();
}

async function storedJobs(queue: string, type: string): Promise<number> {
  const subject = subjects.job(queue, type);
  const info = await jsm.streams.info(STREAMS.jobs, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

let seq = 0;
const newId = (tag: string) => `dsp_${tag}${Date.now().toString(36)}x${++seq}`;

describe("uniqueFor across two dispatcher processes", () => {
  it("accepts exactly one of N concurrent identical dispatches, rejects the rest, accepts again after the TTL", async () => {
    const q = uniq("uniq");
    const TTL = 2_000;
    const N = 24;
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: N }, () => rawDispatch(q, { order: 42, lines: [1, 2] }, newId("u"), TTL)),
    );
    const accepted = replies.filter((r) => r.ok);
    assert.equal(accepted.length, 1, JSON.stringify(replies));
    const winner = accepted[0]!.dispatch_id!;
    for (const r of replies.filter((x) => !x.ok)) {
      assert.equal(r.error?.code, "DUPLICATE", JSON.stringify(r));
      assert.match(r.error!.message, new RegExp(winner));
    }
    // Both replicas answered part of the burst, and both agreed: the claim is shared, not per process.
    const texts = await Promise.all(dispatchers.map(metricsOf));
    const handled = texts.map(
      (t) =>
        metricSum(t, "jetbus_jobs_dispatched_total", { queue: q }) +
        metricSum(t, "jetbus_dispatch_rejected_total", { code: "DUPLICATE" }),
    );
    assert.ok(
      handled.every((n) => n > 0),
      `each dispatcher handled some requests: ${handled.join(", ")}`,
    );
    assert.equal(handled[0]! + handled[1]!, N);

    // Canonical payload: key order does not matter; another payload is another job.
    const reordered = await rawDispatch(q, { lines: [1, 2], order: 42 }, newId("r"), TTL);
    assert.equal(reordered.error?.code, "DUPLICATE");
    assert.equal((await rawDispatch(q, { order: 43, lines: [1, 2] }, newId("o"), TTL)).ok, true);

    let rejectedMeanwhile = 0;
    const again = await waitFor(
      "the same job to be accepted again after its uniqueFor TTL",
      async () => {
        const r = await rawDispatch(q, { order: 42, lines: [1, 2] }, newId("a"), TTL);
        if (!r.ok) rejectedMeanwhile++;
        return r.ok ? { r, at: Date.now() } : null;
      },
      { timeoutMs: TTL + 8_000, intervalMs: 100 },
    );
    assert.ok(again.at - started >= TTL, `accepted again ${again.at - started} ms after the burst`);
    assert.ok(rejectedMeanwhile > 0, "rejected while the TTL ran");
    assert.equal(again.r.duplicate, false);
    assert.equal(await storedJobs(q, "t:echo"), 3, "one stored job per accepted dispatch");
  });

  it("a dispatch id retried on both replicas gets the first reply and makes one job", async () => {
    const q = uniq("idem");
    const id = newId("i");
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => rawDispatch(q, { same: true }, id, 60_000)),
    );
    assert.ok(
      replies.every((r) => r.ok && r.dispatch_id === id),
      JSON.stringify(replies),
    );
    assert.equal(replies.filter((r) => r.duplicate === false).length, 1);
    assert.equal(await storedJobs(q, "t:echo"), 1);
  });
});

/**
 * Whether every start fits a window its limiter could have counted it in, with at most `limit` to a window. The
 * limiter read its clock between `askedAt` and `at`, so a start may belong to any window that interval touches;
 * windows are filled earliest-deadline-first (the start whose latest window comes soonest goes first), which
 * finds a fit whenever one exists.
 */
function respectsLimit(starts: { askedAt: number; at: number }[], windowMs: number, limit: number): boolean {
  const spans = starts
    .map((s) => ({ first: Math.floor(s.askedAt / windowMs), last: Math.floor(s.at / windowMs) }))
    .sort((a, b) => a.first - b.first);
  const waiting: number[] = [];
  let next = 0;
  for (let w = spans[0]?.first ?? 0; next < spans.length || waiting.length > 0; w++) {
    if (waiting.length === 0) w = Math.max(w, spans[next]!.first);
    while (next < spans.length && spans[next]!.first <= w) waiting.push(spans[next++]!.last);
    waiting.sort((a, b) => a - b);
    if (waiting[0]! < w) return false;
    waiting.splice(0, limit);
  }
  return true;
}

async function releasedOnWorkers(type: string): Promise<number[]> {
  const texts = await Promise.all(workers.map(metricsOf));
  return texts.map((t) => metricSum(t, "jetbus_jobs_released_total", { type }));
}

async function assertNoDeadLetters(queue: string, type: string): Promise<void> {
  assert.deepEqual(await bus.deadLetters.list({ queue, type }), []);
}

describe("middleware shared by two worker processes", () => {
  it("rateLimit: never more than `limit` starts per window across both, nothing lost or dead-lettered", async () => {
    const N = 12;
    // Which process takes which job is the server's choice: a worker holding released jobs pulls more of them, so
    // one process may run a whole round. A round proves the limit is shared only when both ran jobs in it: run
    // rounds until one did (each round checked in full), a few at most.
    let bothRan = false;
    for (let round = 0; round < 4 && !bothRan; round++) {
      const results = await bus.dispatchMany(
        Array.from({ length: N }, (_, i) => job("t:limited", { i, round }).onQueue(RATE_Q)),
      );
      const ids = results.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
      const outcomes = await Promise.all(ids.map((id) => bus.wait(id, { timeout: 25_000 })));
      for (const o of outcomes) {
        assert.equal(o.status, "succeeded");
        assert.equal(o.attempts, 1, "a release is not an attempt");
        assert.equal((o as { result: { attempt: number } }).result.attempt, 0);
      }
      // Reports travel on another connection than the outcomes: wait for them, then check there are no more.
      const mine = new Set(ids);
      const starts = await reports.waitFor(
        `every start report of round ${round}`,
        (r) => r.queue === RATE_Q && r.kind === "start" && mine.has(r.dispatchId),
        N,
      );
      assert.equal(starts.length, N, "each job ran exactly once");
      assert.deepEqual(new Set(starts.map((s) => s.dispatchId)), mine);
      bothRan = new Set(starts.map((s) => s.pid)).size === 2;
      const times = starts.map((s) => s.at);
      const asked = starts.map((s) => ({
        askedAt: s.askedAt ?? assert.fail("a start without askedAt"),
        at: s.at,
      }));
      assert.ok(
        respectsLimit(asked, RATE_LIMIT.windowMs, RATE_LIMIT.limit),
        `starts (asked → started, ms): ${JSON.stringify(asked.map((a) => [a.askedAt, a.at]))}`,
      );
      const span = Math.max(...times) - Math.min(...times);
      assert.ok(span >= ((N / RATE_LIMIT.limit - 1) * RATE_LIMIT.windowMs) / 2, `span ${span} ms`);
    }
    assert.ok(bothRan, "in some round both worker processes ran jobs");
    const released = await releasedOnWorkers("t:limited");
    assert.ok(released[0]! + released[1]! > 0, `the limiter turned jobs away: ${released.join(", ")}`);
    await assertNoDeadLetters(RATE_Q, "t:limited");
  });

  it("withoutOverlapping: no two runs of the same key overlap across both, nothing lost or dead-lettered", async () => {
    const N = 5;
    const results = await bus.dispatchMany(
      Array.from({ length: N }, (_, i) => job("t:exclusive", { ms: 150, i }).onQueue(LOCK_Q)),
    );
    const ids = results.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
    const outcomes = await Promise.all(ids.map((id) => bus.wait(id, { timeout: 25_000 })));
    for (const o of outcomes) {
      assert.equal(o.status, "succeeded");
      assert.equal(o.attempts, 1, "a release is not an attempt");
    }
    const mine = await reports.waitFor("every start and end report", (r) => r.queue === LOCK_Q, 2 * N);
    const runs = ids.map((id) => {
      const s = mine.filter((r) => r.dispatchId === id && r.kind === "start");
      const e = mine.filter((r) => r.dispatchId === id && r.kind === "end");
      assert.equal(s.length, 1, `job ${id} started once`);
      assert.equal(e.length, 1, `job ${id} ended once`);
      return { start: s[0]!.at, end: e[0]!.at, pid: s[0]!.pid };
    });
    runs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++)
      assert.ok(
        runs[i]!.start >= runs[i - 1]!.end,
        `run ${i} started at ${runs[i]!.start} before run ${i - 1} ended at ${runs[i - 1]!.end}`,
      );
    // The lock turned jobs away (they came back after at most its TTL), and both processes took part.
    const released = await releasedOnWorkers("t:exclusive");
    assert.ok(released[0]! + released[1]! > 0, `released: ${released.join(", ")}`);
    const touched = workers.filter(
      (w, i) => released[i]! > 0 || runs.some((r) => r.pid === w.proc.pid),
    ).length;
    assert.equal(touched, 2, "both worker processes contended for the lock");
    assert.ok(LOCK_TTL_MS > 150, "the lock outlives a run");
    await assertNoDeadLetters(LOCK_Q, "t:exclusive");
  });
});

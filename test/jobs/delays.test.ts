/**
 * @module
 * Waiting jobs on a real server: a short wait is held by the worker outside its slots, a long one waits as a
 * server-side schedule and arrives through the jobs stream's source; neither runs early, neither holds up a
 * ready job, both are counted as delayed, and a worker that drains while holding jobs gives them back with
 * their time kept and no attempt used. Old v1 parks still work; the delayed stream's limit answers QUEUE_FULL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { job, type Bus } from "../../shared/index.ts";
import { HOLD_MAX_MS } from "../../shared/core/waits.ts";
import { queueOverview } from "../../shared/nats/queue-overview.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { CountLatch, waitFor } from "../../shared/testkit/wait.ts";
import { rejectsWithCode } from "../helpers/jobs.ts";
import { startClientAndWorker, startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";
import { ncOf } from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker({ concurrency: 16 })));
after(() => mesh?.stop());

/** How many of `type`'s jobs wait, as `jetbus queues` counts them. */
async function delayedCount(type: string, queue = "default"): Promise<number> {
  const jsm = await jetstreamManager(ncOf(client));
  const rows = await queueOverview(jsm, () => []);
  return rows.find((r) => r.queue === queue && r.type === type)?.delayed ?? 0;
}

describe("short waits are held by the worker", () => {
  it("1,000 jobs held for a second do not hold up an undelayed job dispatched after them, and none runs early", async () => {
    const type = uniq("held");
    const runs = new CountLatch(1_000);
    let early = 0;
    let dispatchedAt = 0;
    let firstHeldStart = Infinity;
    let readyStart = Infinity;
    worker.register(
      type,
      (ctx) => {
        const now = Date.now();
        if (!ctx.bind<{ delayed: boolean }>().delayed) {
          readyStart = now;
          return "ready";
        }
        if (now < dispatchedAt + HOLD_MAX_MS - 5) early++;
        firstHeldStart = Math.min(firstHeldStart, now);
        runs.countDown();
        return "late";
      },
      { concurrency: 4 },
    );
    dispatchedAt = Date.now();
    const results = await client.dispatchMany(
      Array.from({ length: 1_000 }, (_, i) => job(type, { delayed: true, i }).delay(HOLD_MAX_MS)),
    );
    assert.ok(results.every((r) => r.ok));
    const { dispatchId } = await client.dispatch(job(type, { delayed: false }));
    assert.equal((await client.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    // Four slots, a thousand held jobs ahead of it on the same subject: the undelayed one still ran first.
    assert.ok(
      readyStart < firstHeldStart,
      `the undelayed job started ${readyStart - dispatchedAt} ms after the held ones' dispatch, ` +
        `${readyStart - firstHeldStart} ms after the first held one`,
    );
    await runs.wait(20_000, "the 1,000 held jobs");
    assert.equal(early, 0, "held jobs started before their delay");
  });
});

describe("long waits are server-side schedules", () => {
  it("a job delayed 2.5 s is counted as delayed, not ready, and starts no earlier than its delay", async () => {
    const type = uniq("sched");
    const runs = new Runs();
    worker.register(type, runs.handler());
    const t0 = Date.now();
    const { dispatchId } = await client.dispatch(job(type).delay(2_500));
    await waitFor(`${type} counted as delayed`, async () => (await delayedCount(type)) === 1, {
      timeoutMs: 2_000,
    });
    const jsm = await jetstreamManager(ncOf(client));
    const jobs = await jsm.streams.info(STREAMS.jobs, { subjects_filter: subjects.job("default", type) });
    assert.equal(jobs.state.messages, 0, "the waiting job is not on the jobs stream");
    assert.equal((await client.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    const waited = Date.now() - t0;
    assert.equal(runs.count(), 1);
    assert.ok(waited >= 2_500, `ran after ${waited} ms`);
    // The fired schedule leaves the delayed stream once the jobs stream's source has taken it.
    await waitFor(`${type}: nothing waits once it ran`, async () => (await delayedCount(type)) === 0);
  });

  it("a retry whose backoff is over a second waits as a schedule and runs after the backoff", async () => {
    const type = uniq("sched-retry");
    const runs = new Runs();
    worker.register(
      type,
      runs.handler((ctx) => {
        if (ctx.attempt === 0) throw new Error("first attempt fails");
        return "ok";
      }),
    );
    const backoff = HOLD_MAX_MS + 500;
    const { dispatchId } = await client.dispatch(job(type).retry(1).backoff(backoff));
    await waitFor(`${type}'s retry counted as delayed`, async () => (await delayedCount(type)) === 1, {
      timeoutMs: 2_000,
    });
    assert.equal((await client.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    assert.deepEqual(runs.attempts(), [0, 1]);
    const gap = runs.all[1]!.at - runs.all[0]!.at;
    assert.ok(gap >= backoff - 5, `the retry came ${gap.toFixed(0)} ms after the failure`);
  });
});

describe("old and foreign producers", () => {
  it("a v1 worker's park on jetbus.delayed.<queue>.<type> runs at its time", async () => {
    const type = uniq("park");
    const runs = new Runs();
    worker.register(type, runs.handler());
    const notBefore = Date.now() + 1_500;
    const jobId = `dsp_${uniq("park").replace(/-/g, "_")}`;
    const env = {
      v: 1,
      job_id: jobId,
      dispatch_id: jobId,
      type,
      queue: "default",
      options: {},
      attempt: 0,
      enqueued_at: Date.now(),
      not_before: notBefore,
    };
    await jetstream(ncOf(client)).publish(subjects.delayed("default", type), JSON.stringify(env));
    assert.equal((await client.wait(jobId, { timeout: 10_000 })).status, "succeeded");
    assert.ok(runs.all[0]!.at > 0 && Date.now() >= notBefore, "it ran after its time");
    assert.equal(runs.count(), 1);
  });

  it("an early job on the jobs subject without the hold header is held if near, made to wait again if not", async () => {
    const type = uniq("foreign-early");
    const started = new Map<string, number>();
    worker.register(type, (ctx) => void started.set(ctx.jobId, Date.now()));
    const js = jetstream(ncOf(client));
    const now = Date.now();
    const cases = { near: now + 400, far: now + 2_000 };
    for (const [name, notBefore] of Object.entries(cases)) {
      const id = `dsp_${name}_${uniq("x").replace(/-/g, "_")}`;
      const env = { v: 1, job_id: id, dispatch_id: id, type, queue: "default", options: {}, attempt: 0 };
      await js.publish(
        subjects.job("default", type),
        JSON.stringify({ ...env, enqueued_at: now, not_before: notBefore }),
        {
          headers: headers(),
        },
      );
      assert.equal((await client.wait(id, { timeout: 10_000 })).status, "succeeded");
      const at = started.get(id)!;
      assert.ok(at >= notBefore, `${name}: started ${notBefore - at} ms early`);
    }
  });
});

describe("a worker draining while it holds jobs", () => {
  it("gives them back with their time kept; another worker runs them on time, at attempt 0", async () => {
    const type = uniq("drain-held");
    const first = await mesh.bus({ concurrency: 2, drainTimeoutMs: 1_000 });
    first.register(type, () => {
      throw new Error("the draining worker must not run a held job");
    });
    await first.startWorkers();
    const dispatchedAt = Date.now();
    const results = await client.dispatchMany(
      Array.from({ length: 20 }, (_, i) => job(type, { i }).delay(900)),
    );
    assert.ok(results.every((r) => r.ok));
    // The held jobs show as in flight on the consumer: the draining worker has them.
    const jsm = await jetstreamManager(ncOf(client));
    await waitFor(
      `${type}: 20 jobs held`,
      async () => {
        const rows = await queueOverview(jsm, () => []);
        return rows.find((r) => r.type === type)?.inFlight === 20;
      },
      { timeoutMs: 3_000 },
    );
    await first.shutdown();

    const runs = new Runs();
    const second = await mesh.bus({ concurrency: 4 });
    second.register(type, runs.handler());
    await second.startWorkers();
    await runs.waitCount(type, 20, 10_000);
    await second.shutdown();
    assert.deepEqual([...new Set(runs.attempts())], [0], "a held job given back used no attempt");
    const earliest = Math.min(...runs.all.map((r) => r.at - performance.now() + Date.now()));
    assert.ok(
      earliest >= dispatchedAt + 900 - 5,
      `a given-back job ran ${dispatchedAt + 900 - earliest} ms early`,
    );
  });
});

describe("the delayed stream's limit (JETBUS_MAX_QUEUED_JOBS=3)", () => {
  it("refuses a 4th job waiting as a schedule with QUEUE_FULL, while ready and held jobs still go", async () => {
    const limited = await startMesh({ env: { JETBUS_MAX_QUEUED_JOBS: "3" } });
    try {
      const bus = await limited.bus();
      const type = uniq("full-delayed");
      for (let i = 0; i < 3; i++) await bus.dispatch(job(type, { i }).delay(60_000));
      await waitFor("the delayed stream to hold 3", async () => {
        const jsm = await jetstreamManager(ncOf(bus));
        return (await jsm.streams.info(STREAMS.delayed)).state.messages === 3;
      });
      // The dispatcher reads the count at most every 500 ms.
      await waitFor(
        "QUEUE_FULL for a 4th delayed job",
        () =>
          rejectsWithCode(
            bus.dispatch(job(type, { i: 3 }).delay(60_000)),
            "QUEUE_FULL",
            /delayed jobs wait/,
          ).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 3_000 },
      );
      assert.equal(
        (await bus.dispatch(job(type, { i: 4 }).delay(500))).duplicate,
        false,
        "a held job still goes",
      );
    } finally {
      await limited.stop();
    }
  });
});

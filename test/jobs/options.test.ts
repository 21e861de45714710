/**
 * @module
 * Job options against a real mesh: onQueue, retry, dead letters and replay, PermanentError and failOnError,
 * backoff as a fixed delay, per-attempt timeout (honoured and ignored signal), and delay.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  failOnError,
  job,
  PermanentError,
  type Bus,
  type JobContext,
  type RegisterOptions,
} from "../../shared/index.ts";
import { deferred, waitFor } from "../../shared/testkit/wait.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker({ concurrency: 8 })));
after(() => mesh?.stop());

/** Registers `type` on the shared worker, recording every run; `fn` decides what the attempt does. */
function recorded(
  type: string,
  fn: (attempt: number, ctx: JobContext) => unknown,
  opts: RegisterOptions = {},
): Runs {
  const runs = new Runs();
  worker.register(
    type,
    (ctx) => {
      runs.record(ctx);
      return fn(ctx.attempt, ctx);
    },
    opts,
  );
  return runs;
}

describe("onQueue", () => {
  it("a worker serving queue critical runs it; a worker serving only default never sees it", async () => {
    const type = uniq("q");
    const critical = await mesh.bus({ queues: ["critical"] });
    const ran: string[] = [];
    critical.register(type, (ctx) => {
      ran.push(`critical:${ctx.queue}`);
      return ctx.queue;
    });
    worker.register(type, (ctx) => {
      ran.push(`default:${ctx.queue}`);
      return ctx.queue;
    });
    await critical.startWorkers();
    const onCritical = await client.dispatch(job(type).onQueue("critical"));
    const onDefault = await client.dispatch(job(type));
    assert.deepEqual(await client.wait(onCritical.dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "critical",
      attempts: 1,
    });
    assert.deepEqual(await client.wait(onDefault.dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "default",
      attempts: 1,
    });
    assert.deepEqual(ran.sort(), ["critical:critical", "default:default"]);
    await critical.shutdown();
  });
});

describe("retry, dead letters and replay", () => {
  it("retries after a failure and then succeeds", async () => {
    const type = uniq("flaky");
    const runs = recorded(type, (attempt) => {
      if (attempt === 0) throw new Error("transient");
      return "ok";
    });
    const { dispatchId } = await client.dispatch(job(type).retry(3));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "ok",
      attempts: 2,
    });
    assert.deepEqual(runs.attempts(), [0, 1]);
  });

  it("dead-letters a job whose retries are spent; replay runs it again from attempt 0", async () => {
    const type = uniq("exhaust");
    let healthy = false;
    const runs = recorded(type, (attempt) => {
      if (!healthy) throw new Error(`downstream 503 on attempt ${attempt}`);
      return "recovered";
    });
    const { dispatchId } = await client.dispatch(job(type, { order: 7 }).retry(2));
    const failed = await client.wait(dispatchId, { timeout: 10_000 });
    assert.equal(failed.status, "failed");
    assert.equal(failed.attempts, 3);
    assert.deepEqual(runs.attempts(), [0, 1, 2]);

    const [letter, ...more] = await waitFor("the dead letter", async () => {
      const l = await client.deadLetters.list({ type });
      return l.length > 0 ? l : null;
    });
    assert.equal(more.length, 0, "one dead letter");
    const shown = await client.deadLetters.show(letter!.seq);
    for (const d of [letter!, shown]) {
      assert.equal(d.reason, "exhausted");
      assert.equal(d.attempts, 3);
      assert.equal(d.jobType, type);
      assert.equal(d.queue, "default");
      assert.equal(d.dispatchId, dispatchId);
      assert.equal(d.jobId, dispatchId);
      assert.deepEqual(d.payload, { order: 7 });
      assert.equal(d.error.code, "HANDLER_ERROR");
      assert.match(d.error.message, /downstream 503 on attempt 2/);
      assert.ok(d.failedAt instanceof Date && !Number.isNaN(d.failedAt.getTime()));
    }

    healthy = true;
    assert.deepEqual(await client.deadLetters.replay(letter!.seq), { dispatchId });
    // bus.wait right after the replay waits for the replay's outcome, not the stale failure.
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "recovered",
      attempts: 1,
    });
    assert.deepEqual(runs.attempts(), [0, 1, 2, 0], "the replay starts again at attempt 0");
    assert.deepEqual(await client.deadLetters.list({ type }), [], "the replayed letter is removed");
  });

  it("a PermanentError ends retries at once: retry(5) gives one run, reason permanent", async () => {
    const type = uniq("perm");
    const runs = recorded(type, () => {
      throw new PermanentError("card declined");
    });
    const { dispatchId } = await client.dispatch(job(type).retry(5).backoff(50));
    const out = await client.wait(dispatchId, { timeout: 10_000 });
    assert.equal(out.status, "failed");
    assert.equal(out.attempts, 1);
    if (out.status === "failed") {
      assert.equal(out.error.code, "PERMANENT");
      assert.ok(out.error instanceof PermanentError);
      assert.match(out.error.message, /card declined/);
    }
    const [letter] = await waitFor("the dead letter", async () => {
      const l = await client.deadLetters.list({ type });
      return l.length > 0 ? l : null;
    });
    assert.equal(letter!.reason, "permanent");
    assert.equal(letter!.attempts, 1);
    assert.equal(runs.count(), 1);
  });

  it("failOnError makes a handler error permanent ('fatal bus error: …'); with `when` it only matches some", async () => {
    const fatalType = uniq("fatal");
    const fatalRuns = recorded(
      fatalType,
      () => {
        throw new Error("schema mismatch");
      },
      { middleware: [failOnError()] },
    );
    const pickyType = uniq("picky");
    const pickyRuns = recorded(
      pickyType,
      (attempt) => {
        if (attempt === 0) throw new Error("flaky network");
        throw new TypeError("bad input");
      },
      { middleware: [failOnError((err) => err instanceof TypeError)] },
    );
    const fatal = await client.dispatch(job(fatalType).retry(3));
    const picky = await client.dispatch(job(pickyType).retry(5));

    const f = await client.wait(fatal.dispatchId, { timeout: 10_000 });
    assert.equal(f.status, "failed");
    if (f.status === "failed") {
      assert.equal(f.error.code, "PERMANENT");
      assert.match(f.error.message, /fatal bus error/);
      assert.match(f.error.message, /schema mismatch/);
    }
    assert.equal(f.attempts, 1);
    assert.equal(fatalRuns.count(), 1);

    const p = await client.wait(picky.dispatchId, { timeout: 10_000 });
    assert.equal(p.status, "failed");
    assert.equal(p.attempts, 2, "the unmatched error was retried, the matched one was not");
    if (p.status === "failed") assert.match(p.error.message, /fatal bus error: bad input/);
    assert.deepEqual(pickyRuns.attempts(), [0, 1]);
  });
});

describe("backoff, timeout, delay", () => {
  it("backoff is a fixed delay between attempts", async () => {
    const type = uniq("backoff");
    const backoff = 600;
    const runs = recorded(type, () => {
      throw new Error("nope");
    });
    const { dispatchId } = await client.dispatch(job(type).retry(3).backoff(backoff));
    const out = await client.wait(dispatchId, { timeout: 15_000 });
    assert.equal(out.status, "failed");
    assert.deepEqual(runs.attempts(), [0, 1, 2, 3]);
    const gaps = runs.all.slice(1).map((r, i) => r.at - runs.all[i]!.at);
    for (const gap of gaps)
      assert.ok(gap >= backoff - 25, `gap ${gap.toFixed(0)} ms is shorter than the backoff: ${gaps}`);
    // Fixed, not growing: the median gap is the backoff (an exponential 600/1200/2400 has a median of 1200).
    // One gap may run long on a loaded machine (seen once: 2.7 s in a full parallel suite run).
    const median = [...gaps].sort((a, b) => a - b)[1]!;
    assert.ok(median < backoff + 400, `median gap ${median.toFixed(0)} ms is not the backoff: ${gaps}`);
  });

  it("a timeout aborts ctx.signal, fails the attempt with TIMEOUT, and the job is retried", async () => {
    const type = uniq("timeout");
    const reasons: unknown[] = [];
    const runs = recorded(type, async (attempt, ctx) => {
      if (attempt > 0 && ctx.bind() === null) return "fast enough";
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          reasons.push(ctx.signal.reason);
          resolve();
        });
      });
      throw new Error("aborted by signal");
    });
    const t0 = performance.now();
    const { dispatchId } = await client.dispatch(job(type).timeout(300).retry(1));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "fast enough",
      attempts: 2,
    });
    assert.deepEqual(runs.attempts(), [0, 1]);
    assert.equal(reasons.length, 1);
    assert.equal((reasons[0] as { code?: string }).code, "TIMEOUT");
    assert.ok(runs.all[1]!.at - runs.all[0]!.at >= 290, "the retry came after the deadline");
    assert.ok(performance.now() - t0 < 5_000);

    // Without retries left, the job fails with code TIMEOUT.
    const spent = await client.dispatch(job(type, { always: "slow" }).timeout(200));
    const out = await client.wait(spent.dispatchId, { timeout: 10_000 });
    assert.equal(out.status, "failed");
    if (out.status === "failed") {
      assert.equal(out.error.code, "TIMEOUT");
      assert.match(out.error.message, /timed out after 200 ms/);
    }
  });

  it("a handler that ignores the signal still frees its slot at the deadline", async () => {
    const type = uniq("stubborn");
    const release = deferred();
    const starts: { id: string; at: number }[] = [];
    const firstStarted = deferred();
    worker.register(
      type,
      async (ctx) => {
        starts.push({ id: ctx.dispatchId, at: performance.now() });
        if (ctx.bind<{ stubborn: boolean }>().stubborn) {
          firstStarted.resolve();
          // Ignores ctx.signal on purpose; ends at 5 s or when the test lets it go.
          await Promise.race([release.promise, sleep(5_000)]);
        }
        return "done";
      },
      { concurrency: 1 },
    );
    try {
      const slow = await client.dispatch(job(type, { stubborn: true }).timeout(500));
      await firstStarted.wait(10_000, "the stubborn handler to start");
      const quick = await client.dispatch(job(type, { stubborn: false }));
      const q = await client.wait(quick.dispatchId, { timeout: 10_000 });
      assert.equal(q.status, "succeeded");
      const s = await client.wait(slow.dispatchId, { timeout: 10_000 });
      assert.equal(s.status, "failed");
      if (s.status === "failed") assert.equal(s.error.code, "TIMEOUT");
      const gap = starts[1]!.at - starts[0]!.at;
      assert.equal(starts[1]!.id, quick.dispatchId);
      assert.ok(
        gap >= 480,
        `the second job started ${gap.toFixed(0)} ms after the first: before its deadline`,
      );
      assert.ok(gap < 2_000, `the second job started ${gap.toFixed(0)} ms after the first: slot not freed`);
    } finally {
      release.resolve();
    }
  });

  it("a delayed job starts no earlier than its delay", async () => {
    const type = uniq("delay");
    const runs = recorded(type, () => "late");
    const p0 = performance.now();
    const t0 = Date.now();
    const { dispatchId } = await client.dispatch(job(type).delay(1_500));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "late",
      attempts: 1,
    });
    const waited = runs.all[0]!.at - p0;
    assert.ok(Date.now() - t0 >= 1_500);
    assert.ok(waited >= 1_480, `started ${waited.toFixed(0)} ms after dispatch`);
    assert.ok(waited < 1_500 + 2_000, `started ${waited.toFixed(0)} ms after dispatch`);
  });
});

/**
 * @module
 * Middleware on a real worker: onion order, skipWhen (counts as success), retryPolicy (pass-through),
 * rateLimit and withoutOverlapping with the shared KV defaults (a job turned away is released, never failed),
 * and custom limiter / locker objects (called with the custom key, their retryAfterMs honoured).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  job,
  rateLimit,
  retryPolicy,
  skipWhen,
  withoutOverlapping,
  type Bus,
  type Locker,
  type Middleware,
  type RateLimiter,
} from "../../shared/index.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker({ concurrency: 8 })));
after(() => mesh?.stop());

async function runAll(ids: string[]) {
  return Promise.all(ids.map((id) => client.wait(id, { timeout: 15_000 })));
}

describe("composition", () => {
  it("runs in registration order, first registered outermost; bus-wide outside per-type", async () => {
    const type = uniq("order");
    const log: string[] = [];
    const tracer =
      (name: string): Middleware =>
      async (ctx, next) => {
        if (ctx.jobType !== type) return next();
        log.push(`${name}-before`);
        const r = await next();
        log.push(`${name}-after`);
        return r;
      };
    worker.withMiddleware(tracer("bus"));
    worker.register(
      type,
      () => {
        log.push("handler");
        return "result";
      },
      { middleware: [tracer("m1"), tracer("m2")] },
    );
    const { dispatchId } = await client.dispatch(job(type));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "result",
      attempts: 1,
    });
    assert.deepEqual(log, [
      "bus-before",
      "m1-before",
      "m2-before",
      "handler",
      "m2-after",
      "m1-after",
      "bus-after",
    ]);
  });

  it("skipWhen skips the handler and the job counts as succeeded", async () => {
    const type = uniq("skip");
    const handled: unknown[] = [];
    worker.register(type, (ctx) => handled.push(ctx.bind()), {
      middleware: [skipWhen((ctx) => ctx.bind<{ skip: boolean }>().skip)],
    });
    const skipped = await client.dispatch(job(type, { skip: true }));
    const ran = await client.dispatch(job(type, { skip: false }));
    const [s, r] = await runAll([skipped.dispatchId, ran.dispatchId]);
    assert.equal(s!.status, "succeeded");
    assert.equal(s!.attempts, 1);
    assert.equal(s!.status === "succeeded" && s!.result, undefined);
    assert.deepEqual(r, { status: "succeeded", result: 1, attempts: 1 });
    assert.deepEqual(handled, [{ skip: false }], "the skipped job's handler was not called");
  });

  it("retryPolicy passes through: the job's own retry decides", async () => {
    const type = uniq("policy");
    const attempts: number[] = [];
    worker.register(
      type,
      (ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 0) throw new Error("once");
        return "twice";
      },
      { middleware: [retryPolicy()] },
    );
    const { dispatchId } = await client.dispatch(job(type).retry(1));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "twice",
      attempts: 2,
    });
    assert.deepEqual(attempts, [0, 1]);
  });
});

describe("rateLimit and withoutOverlapping (shared KV)", () => {
  it("rateLimit(2 per 1000 ms): 5 jobs with retry(0) all succeed, never more than 2 starts per window", async () => {
    const type = uniq("rate");
    const starts: { before: number; after: number; attempt: number }[] = [];
    const pending = new Map<string, number>();
    const stamp: Middleware = async (ctx, next) => {
      pending.set(ctx.dispatchId, Date.now());
      return next();
    };
    worker.register(
      type,
      (ctx) => {
        starts.push({ before: pending.get(ctx.dispatchId)!, after: Date.now(), attempt: ctx.attempt });
      },
      { middleware: [stamp, rateLimit({ limit: 2, windowMs: 1_000 })] },
    );
    const results = await client.dispatchMany(Array.from({ length: 5 }, (_, i) => job(type, { i })));
    const outcomes = await runAll(results.map((r) => (r.ok ? r.dispatchId : "")));
    for (const o of outcomes) assert.deepEqual(o, { status: "succeeded", result: undefined, attempts: 1 });
    assert.equal(starts.length, 5);
    assert.ok(
      starts.every((s) => s.attempt === 0),
      "a release must not use up an attempt",
    );
    // The limiter decided between `before` and `after`; count starts that certainly fell in one window.
    const perWindow = new Map<number, number>();
    for (const s of starts) {
      const w = Math.floor(s.before / 1_000);
      if (w === Math.floor(s.after / 1_000)) perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    }
    for (const [w, n] of perWindow) assert.ok(n <= 2, `${n} starts in window ${w}`);
    const times = starts.map((s) => s.after).sort((a, b) => a - b);
    assert.ok(times[4]! - times[0]! >= 950, "5 starts at 2 per window need at least 3 windows");
  });

  it("withoutOverlapping: 4 jobs of one key on concurrency 4 never run at once, and all succeed", async () => {
    const type = uniq("overlap");
    let active = 0;
    let maxActive = 0;
    const attempts: number[] = [];
    worker.register(
      type,
      async (ctx) => {
        attempts.push(ctx.attempt);
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(100);
        active--;
        return "done";
      },
      { concurrency: 4, middleware: [withoutOverlapping({ key: () => `report-${type}`, ttlMs: 500 })] },
    );
    const results = await client.dispatchMany(Array.from({ length: 4 }, (_, i) => job(type, { i })));
    const outcomes = await runAll(results.map((r) => (r.ok ? r.dispatchId : "")));
    for (const o of outcomes) assert.deepEqual(o, { status: "succeeded", result: "done", attempts: 1 });
    assert.equal(maxActive, 1, "two handlers of the key ran at once");
    assert.deepEqual(attempts, [0, 0, 0, 0]);
  });
});

describe("custom limiter and locker", () => {
  it("a custom RateLimiter gets the custom key and its retryAfterMs is honoured", async () => {
    const type = uniq("custom-rate");
    const calls: { key: string; at: number }[] = [];
    const limiter: RateLimiter = {
      allow(key) {
        calls.push({ key, at: Date.now() });
        if (key.endsWith("broken")) return Promise.reject(new Error("limiter backend down"));
        return Promise.resolve(
          calls.filter((c) => c.key === key).length === 1
            ? { allowed: false, retryAfterMs: 400 }
            : { allowed: true, retryAfterMs: 0 },
        );
      },
    };
    let ranAt = 0;
    worker.register(
      type,
      () => {
        ranAt = Date.now();
        return "sent";
      },
      { middleware: [rateLimit({ limiter, key: (ctx) => `tenant:${ctx.bind<{ t: string }>().t}` })] },
    );
    const ok = await client.dispatch(job(type, { t: "acme" }));
    assert.deepEqual(await client.wait(ok.dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "sent",
      attempts: 1,
    });
    assert.deepEqual(
      calls.map((c) => c.key),
      ["tenant:acme", "tenant:acme"],
    );
    assert.ok(calls[1]!.at - calls[0]!.at >= 380, `came back after ${calls[1]!.at - calls[0]!.at} ms`);
    assert.ok(calls[1]!.at - calls[0]!.at < 2_500);
    assert.ok(ranAt >= calls[1]!.at);

    // A limiter error is a handler error (as in the Go `bus` package: it propagates).
    const broken = await client.dispatch(job(type, { t: "broken" }));
    const b = await client.wait(broken.dispatchId, { timeout: 10_000 });
    assert.equal(b.status, "failed");
    if (b.status === "failed") assert.match(b.error.message, /limiter backend down/);
  });

  it("a custom Locker gets the custom key and ttl, its retryAfterMs is honoured, and the lock is released after success and after an error", async () => {
    const type = uniq("custom-lock");
    const log: string[] = [];
    const acquiredAt: number[] = [];
    let denied = false;
    const locker: Locker = {
      acquire(key, ttlMs) {
        log.push(`acquire ${key} ${ttlMs}`);
        acquiredAt.push(Date.now());
        if (!denied) {
          denied = true;
          return Promise.resolve({ acquired: false, retryAfterMs: 300 });
        }
        return Promise.resolve({
          acquired: true,
          lock: {
            release: () => {
              log.push(`release ${key}`);
              return Promise.resolve();
            },
          },
        });
      },
    };
    worker.register(
      type,
      (ctx) => {
        log.push("handler");
        if (ctx.bind<{ fail: boolean }>().fail) throw new Error("handler broke");
        return "ok";
      },
      {
        middleware: [
          withoutOverlapping({ locker, ttlMs: 7_000, key: (ctx) => `acct-${ctx.bind<{ a: number }>().a}` }),
        ],
      },
    );
    const first = await client.dispatch(job(type, { a: 1, fail: false }));
    assert.deepEqual(await client.wait(first.dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: "ok",
      attempts: 1,
    });
    assert.deepEqual(log, ["acquire acct-1 7000", "acquire acct-1 7000", "handler", "release acct-1"]);
    const gap = acquiredAt[1]! - acquiredAt[0]!;
    assert.ok(gap >= 280 && gap < 2_500, `came back after ${gap} ms`);

    log.length = 0;
    const second = await client.dispatch(job(type, { a: 2, fail: true }));
    assert.equal((await client.wait(second.dispatchId, { timeout: 10_000 })).status, "failed");
    assert.deepEqual(log, ["acquire acct-2 7000", "handler", "release acct-2"]);
  });
});

/**
 * @module
 * BullMQ 6.7 baselines, one function per workload. Each call is one measured repetition in fresh processes:
 * a producer process and ONE worker process (concurrency 50), a queue named uniquely for the call, 1,000
 * no-op warm-up jobs through the same processes, the measured part, then the queue is obliterated.
 * Times run from the producer's first add to the completion the worker observed.
 */
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { BenchChild, type ChildMessage } from "../lib/child.ts";
import { sampleRss } from "../lib/rss.ts";
import { percentile } from "../lib/stats.ts";
import { JobNames, type WorkerMode } from "./bullmq-config.ts";

export type BullmqOptions = {
  redisUrl: string;
  /** Jobs, children (flows) or steps (chains). */
  n: number;
  /** No-op jobs through the same processes before the measured part. @defaultValue 1000 */
  warmup?: number;
  /** Redis server pid, to report its peak RSS during the call. */
  redisPid?: number;
  /** Bound on the measured part. @defaultValue 300_000 */
  timeoutMs?: number;
};

export type BullmqRss = { producer: number | null; worker: number | null; redis: number | null };

type Session = {
  producer: BenchChild;
  worker: BenchChild;
  /** Sends `expect` to the worker, runs `command` on the producer; ms from its t0 to the worker's `reached`. */
  timed(expect: { count?: number; name?: string }, command: ChildMessage): Promise<number>;
};

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));

async function withSession<T>(
  mode: WorkerMode,
  opts: BullmqOptions,
  body: (s: Session) => Promise<T>,
): Promise<{ result: T; rssMb: BullmqRss }> {
  const env = { REDIS_URL: opts.redisUrl, QUEUE: `bench-${mode}-${randomUUID()}`, MODE: mode };
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const redis = sampleRss(opts.redisPid);
  let worker: BenchChild | undefined;
  let producer: BenchChild | undefined;
  let obliterated = false;
  try {
    worker = await BenchChild.start(file("bullmq-worker.ts"), `bullmq ${mode} worker`, env);
    producer = await BenchChild.start(file("bullmq-producer.ts"), "bullmq producer", env);
    const [w, p] = [worker, producer];
    const session: Session = {
      producer: p,
      worker: w,
      async timed(expect, command) {
        await w.request({ type: "expect", ...expect });
        const [done, reached] = await Promise.all([
          p.request<{ type: string; t0: number }>(command, timeoutMs),
          w.next<{ type: string; at: number }>("reached", timeoutMs),
        ]);
        return reached.at - done.t0;
      },
    };
    const warmup = opts.warmup ?? 1000;
    if (warmup > 0)
      await session.timed({ count: warmup }, { type: "addBulk", count: warmup, name: JobNames.warm });
    const result = await body(session);
    // Worker first: once it is gone nothing adds jobs, so obliterate leaves an empty queue behind.
    const workerRss = await worker.stop();
    await producer.request({ type: "obliterate" }, 120_000);
    obliterated = true;
    const producerRss = await producer.stop();
    return { result, rssMb: { producer: producerRss, worker: workerRss, redis: redis.stop() } };
  } finally {
    worker?.kill();
    // After a failure, still try not to leave the queue behind in a shared Redis.
    if (producer && !obliterated)
      await producer.request({ type: "obliterate" }, 60_000).catch(() => undefined);
    producer?.kill();
    redis.stop();
  }
}

/** P1: `n` no-op jobs via `addBulk` (chunks of 1,000) → completed. */
export async function runBullmqThroughput(
  opts: BullmqOptions,
): Promise<{ perSec: number; rssMb: BullmqRss }> {
  const { result: ms, rssMb } = await withSession("noop", opts, (s) =>
    s.timed({ count: opts.n }, { type: "addBulk", count: opts.n, name: "noop" }),
  );
  return { perSec: opts.n / (ms / 1000), rssMb };
}

/** P2: `n` jobs one at a time, `queue.add` → `job.waitUntilFinished(queueEvents)`. */
export async function runBullmqLatency(
  opts: BullmqOptions,
): Promise<{ p50Ms: number; p99Ms: number; rssMb: BullmqRss }> {
  const { result: latenciesMs, rssMb } = await withSession("noop", opts, async (s) => {
    const done = await s.producer.request<{ type: string; latenciesMs: number[] }>(
      { type: "latency", count: opts.n },
      opts.timeoutMs,
    );
    return done.latenciesMs;
  });
  return { p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99), rssMb };
}

/** P3 / P5: a FlowProducer flow of one parent with `n` no-op children, until the parent completed. */
export async function runBullmqFlow(opts: BullmqOptions): Promise<{ ms: number; rssMb: BullmqRss }> {
  const { result: ms, rssMb } = await withSession("noop", opts, (s) =>
    s.timed({ name: JobNames.parent }, { type: "flow", count: opts.n }),
  );
  return { ms, rssMb };
}

/** P4: a chain of `n` no-op steps, each step's processor adding the next; until the last completed. */
export async function runBullmqChain(opts: BullmqOptions): Promise<{ ms: number; rssMb: BullmqRss }> {
  const { result: ms, rssMb } = await withSession("chain", opts, (s) =>
    s.timed({ name: JobNames.last }, { type: "chain", count: opts.n }),
  );
  return { ms, rssMb };
}

/** P6: `n` jobs that fail twice then succeed (`attempts: 3`, fixed 10 ms backoff), until all completed. */
export async function runBullmqRetries(opts: BullmqOptions): Promise<{ ms: number; rssMb: BullmqRss }> {
  const { result: ms, rssMb } = await withSession("flaky", opts, (s) =>
    s.timed({ count: opts.n }, { type: "flaky", count: opts.n }),
  );
  return { ms, rssMb };
}

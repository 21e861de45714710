/**
 * @module
 * The jetbus side of P1…P6, one measured repetition each (fresh processes, warm-up included; see
 * session.ts). Times run from the producer's first dispatch to the moment the producer learned that the
 * coordinator recorded the last outcome (its event, its callback's event, or `bus.wait`).
 */
import { log } from "../lib/output.ts";
import { round } from "../lib/stats.ts";
import type { BenchEnv, LatencyFigures, ThroughputFigures, TimeFigures } from "../workloads/types.ts";
import { withJetbusSession, type Reply, type SessionOptions } from "./session.ts";

export type JetbusOptions = {
  n: number;
  warmup: number;
  serviceEnv?: Record<string, string>;
  label?: string;
};

const sessionOpts = (o: JetbusOptions, label: string): SessionOptions => ({
  label: o.label ?? label,
  warmup: o.warmup,
  ...(o.serviceEnv ? { serviceEnv: o.serviceEnv } : {}),
});

/** P1: `n` no-op jobs via `bus.dispatchMany` → dispatcher → worker → outcome recorded. */
export async function runJetbusThroughput(env: BenchEnv, o: JetbusOptions): Promise<ThroughputFigures> {
  const { result, rssMb } = await withJetbusSession(env, sessionOpts(o, "P1"), async (s) => {
    const r = await s.run({ type: "jobs", count: o.n, kind: "noop" });
    log(`jetbus P1: dispatchMany returned after ${round((r.t1 ?? r.t0) - r.t0, 0)} ms`);
    return { ms: r.at - r.t0, cost: r.cost };
  });
  return { perSec: o.n / (result.ms / 1000), rssMb, ...(result.cost ? { detail: result.cost } : {}) };
}

/** P2: `n` jobs one at a time, `bus.dispatch` → `bus.wait(dispatchId)`. */
export async function runJetbusLatency(env: BenchEnv, o: JetbusOptions): Promise<LatencyFigures> {
  type LatencyReply = Reply & Record<"p50Ms" | "p99Ms" | "dispatchP50Ms" | "waitP50Ms" | "waitP99Ms", number>;
  const { result, rssMb } = await withJetbusSession(env, sessionOpts(o, "P2"), async (s) => {
    const r = await s.run<LatencyReply>({ type: "latency", count: o.n });
    log(
      `jetbus P2: dispatch() p50 ${round(r.dispatchP50Ms, 2)} ms; then wait() p50 ${round(r.waitP50Ms, 2)} ms, ` +
        `p99 ${round(r.waitP99Ms, 2)} ms`,
    );
    return r;
  });
  return { p50Ms: result.p50Ms, p99Ms: result.p99Ms, rssMb };
}

/** P3 / P5: a batch of `n` no-op members with `.finally(job("bench:noop-cb"))`, until that callback ran. */
export async function runJetbusBatch(
  env: BenchEnv,
  o: JetbusOptions & { countKvWrites?: boolean },
): Promise<TimeFigures> {
  const label = o.n >= 100_000 ? "P5" : "P3";
  const { result, rssMb } = await withJetbusSession(env, sessionOpts(o, label), async (s) => {
    const lastSeq = async () => (await s.jsm.streams.info("KV_jetbus-workflows")).state.last_seq;
    const before = o.countKvWrites ? await lastSeq() : 0;
    const r = await s.run({ type: "batch", count: o.n }, 1_200_000);
    log(`jetbus ${label}: batch dispatch() returned after ${round((r.t1 ?? r.t0) - r.t0, 0)} ms`);
    if (!o.countKvWrites) return { ms: r.at - r.t0 };
    const writes = (await lastSeq()) - before;
    log(`jetbus ${label}: ${writes} writes to the workflows bucket for ${o.n} members`);
    return { ms: r.at - r.t0, extra: { kv_writes: writes, kv_writes_per_member: writes / o.n } };
  });
  return { ...result, rssMb };
}

/** P4: a chain of `n` no-op steps, until `bus.wait(chainId)` resolved. */
export async function runJetbusChain(env: BenchEnv, o: JetbusOptions): Promise<TimeFigures> {
  const { result: ms, rssMb } = await withJetbusSession(env, sessionOpts(o, "P4"), async (s) => {
    const r = await s.run({ type: "chain", count: o.n });
    return r.at - r.t0;
  });
  return { ms, rssMb };
}

/** P6: `n` jobs `.retry(2).backoff(10)` failing on attempts 0 and 1, until all `job_succeeded`. */
export async function runJetbusRetries(env: BenchEnv, o: JetbusOptions): Promise<TimeFigures> {
  const { result: ms, rssMb } = await withJetbusSession(env, sessionOpts(o, "P6"), async (s) => {
    const r = await s.run({ type: "jobs", count: o.n, kind: "flaky" });
    return r.at - r.t0;
  });
  return { ms, rssMb };
}

/** D1: `n` no-op jobs delayed `delayMs`; lateness of each one's start against its due time. */
export async function runJetbusDelays(
  env: BenchEnv,
  o: JetbusOptions & { delayMs: number },
): Promise<LatencyFigures> {
  type DelayReply = Reply & Record<"p50Ms" | "p99Ms" | "maxMs" | "minMs", number>;
  const { result, rssMb } = await withJetbusSession(env, sessionOpts(o, "D1"), async (s) => {
    const r = await s.run<DelayReply>({ type: "delayed", count: o.n, delayMs: o.delayMs });
    log(
      `jetbus D1: lateness p50 ${round(r.p50Ms, 1)} ms, p99 ${round(r.p99Ms, 1)} ms, ` +
        `min ${round(r.minMs, 1)} ms, max ${round(r.maxMs, 1)} ms`,
    );
    return r;
  });
  return { p50Ms: result.p50Ms, p99Ms: result.p99Ms, rssMb, extra: { lateness_max_ms: result.maxMs } };
}

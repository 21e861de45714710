/**
 * @module
 * D1 — 1,000 jobs delayed 2 s: how late each starts against its due time (p50/p99 in ms). Waits over a second
 * are server-side schedules (`Nats-Schedule`), fired early and held by the worker for the rest; the goal is a
 * p99 lateness of at most 100 ms on a quiet machine. jetbus only: there is no baseline.
 */
import { runJetbusDelays } from "../jetbus/workloads.ts";
import type { Workload } from "./types.ts";

const N = 1000;
const WARMUP = 1000;
const DELAY_MS = 2_000;

export const d1: Workload<"latency"> = {
  name: "D1",
  kind: "latency",
  title: `${N} jobs delayed ${DELAY_MS} ms: lateness of their start (p50/p99 ms)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  aliases: { p50_ms: "lateness_p50_ms", p99_ms: "lateness_p99_ms" },
  runJetbus: (env) => runJetbusDelays(env, { n: N, warmup: WARMUP, delayMs: DELAY_MS }),
  runBaselines: () => Promise.resolve({}),
};

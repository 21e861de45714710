/** @module P2 — latency: 1,000 jobs one at a time, enqueue → finished, p50/p99. */
import { runBullmqLatency } from "../baselines/bullmq.ts";
import { runJetbusLatency } from "../jetbus/workloads.ts";
import { bullmqBaseline } from "./bullmq-baseline.ts";
import type { Workload } from "./types.ts";

const N = 1000;
const WARMUP = 1000;

export const p2: Workload<"latency"> = {
  name: "P2",
  kind: "latency",
  title: `${N} jobs one at a time: enqueue → wait until finished (ms)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  runJetbus: (env) => runJetbusLatency(env, { n: N, warmup: WARMUP }),
  runBaselines: bullmqBaseline(runBullmqLatency, { n: N, warmup: WARMUP }),
};

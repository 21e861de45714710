/** @module P6 — 1,000 jobs that fail twice then succeed (3 attempts, fixed 10 ms backoff). */
import { runBullmqRetries } from "../baselines/bullmq.ts";
import { runJetbusRetries } from "../jetbus/workloads.ts";
import { bullmqBaseline } from "./bullmq-baseline.ts";
import type { Workload } from "./types.ts";

const N = 1000;
const WARMUP = 1000;

export const p6: Workload<"time"> = {
  name: "P6",
  kind: "time",
  title: `${N} jobs failing twice, then succeeding (attempts 3, backoff 10 ms) until all completed (ms)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  runJetbus: (env) => runJetbusRetries(env, { n: N, warmup: WARMUP }),
  runBaselines: bullmqBaseline(runBullmqRetries, { n: N, warmup: WARMUP }),
};

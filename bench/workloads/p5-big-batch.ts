/** @module P5 — a batch of 100,000 no-op children, run once: time and peak RSS. */
import { runBullmqFlow } from "../baselines/bullmq.ts";
import { runJetbusBatch } from "../jetbus/workloads.ts";
import { bullmqBaseline } from "./bullmq-baseline.ts";
import type { Workload } from "./types.ts";

const N = 100_000;
const WARMUP = 1000;

export const p5: Workload<"time"> = {
  name: "P5",
  kind: "time",
  title: `batch of ${N} no-op jobs → completion callback, once (ms, peak RSS)`,
  n: N,
  runs: 1,
  warmup: WARMUP,
  runJetbus: (env) => runJetbusBatch(env, { n: N, warmup: WARMUP, countKvWrites: true }),
  runBaselines: bullmqBaseline(runBullmqFlow, { n: N, warmup: WARMUP, timeoutMs: 1_200_000 }),
};

/** @module P5 — a batch of 100,000 no-op children, run once: time and peak RSS. */
import { runBullmqFlow } from "../baselines/bullmq.ts";
import { runJetbusBatch } from "../jetbus/workloads.ts";
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
  async runBaselines(env) {
    if (!env.bullmq) return {};
    const opts = {
      redisUrl: env.redisUrl,
      redisPid: env.redisPid,
      n: N,
      warmup: WARMUP,
      timeoutMs: 1_200_000,
    };
    return { bullmq: await runBullmqFlow(opts) };
  },
};

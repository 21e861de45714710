/** @module P3 — a batch (BullMQ: a flow) of 10,000 no-op children, until the parent/callback completed. */
import { runBullmqFlow } from "../baselines/bullmq.ts";
import { runJetbusBatch } from "../jetbus/workloads.ts";
import { bullmqBaseline } from "./bullmq-baseline.ts";
import type { Workload } from "./types.ts";

const N = 10_000;
const WARMUP = 1000;

export const p3: Workload<"time"> = {
  name: "P3",
  kind: "time",
  title: `batch of ${N} no-op jobs → completion callback (ms)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  runJetbus: (env) => runJetbusBatch(env, { n: N, warmup: WARMUP }),
  runBaselines: bullmqBaseline(runBullmqFlow, { n: N, warmup: WARMUP }),
};

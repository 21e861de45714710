/** @module P4 — a chain of 100 no-op steps, each started when the previous one completed. */
import { runBullmqChain } from "../baselines/bullmq.ts";
import { runJetbusChain } from "../jetbus/workloads.ts";
import { bullmqBaseline } from "./bullmq-baseline.ts";
import type { Workload } from "./types.ts";

const STEPS = 100;
const WARMUP = 1000;

export const p4: Workload<"time"> = {
  name: "P4",
  kind: "time",
  title: `chain of ${STEPS} no-op steps (ms, and ms per step)`,
  n: STEPS,
  runs: 3,
  warmup: WARMUP,
  perStep: true,
  runJetbus: (env) => runJetbusChain(env, { n: STEPS, warmup: WARMUP }),
  runBaselines: bullmqBaseline(runBullmqChain, { n: STEPS, warmup: WARMUP }),
};

/** @module P1 — throughput: 20,000 no-op jobs through one worker process (concurrency 50). */
import { runBullmqThroughput } from "../baselines/bullmq.ts";
import { runRawP1 } from "../baselines/raw-nats.ts";
import { runJetbusThroughput } from "../jetbus/workloads.ts";
import type { Workload } from "./types.ts";

const N = 20_000;
const WARMUP = 1000;

export const p1: Workload<"throughput"> = {
  name: "P1",
  kind: "throughput",
  title: `${N} no-op jobs: enqueue → worker → done (jobs/s)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  runJetbus: (env) => runJetbusThroughput(env, { n: N, warmup: WARMUP }),
  async runBaselines(env) {
    const raw = await runRawP1({ natsUrl: env.natsUrl, n: N, warmup: WARMUP, serverPid: env.natsServerPid });
    if (!env.bullmq) return { raw };
    const bullmq = await runBullmqThroughput({
      redisUrl: env.redisUrl,
      redisPid: env.redisPid,
      n: N,
      warmup: WARMUP,
    });
    return { raw, bullmq };
  },
};

/** @module `runBaselines` for the workloads whose one baseline is BullMQ (skipped with BENCH_NO_BULLMQ=1). */
import type { BullmqOptions } from "../baselines/bullmq.ts";
import type { BaselineFigures, BenchEnv, FiguresOf, Kind } from "./types.ts";

export function bullmqBaseline<K extends Kind>(
  run: (opts: BullmqOptions) => Promise<FiguresOf<K>>,
  opts: { n: number; warmup: number; timeoutMs?: number },
): (env: BenchEnv) => Promise<BaselineFigures<K>> {
  return async (env) =>
    env.bullmq ? { bullmq: await run({ redisUrl: env.redisUrl, redisPid: env.redisPid, ...opts }) } : {};
}

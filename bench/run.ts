/**
 * @module
 * `npm run bench`: every selected workload, jetbus against its baselines measured in the same run, one JSON
 * line per workload on stdout (progress on stderr). Sides run interleaved per repetition (jetbus, raw,
 * BullMQ, jetbus, …) so machine noise spreads over all of them.
 *
 * Env: BENCH_ONLY=P1,P2 selects workloads; BENCH_NO_BULLMQ=1 skips BullMQ (otherwise an unreachable Redis
 * fails the run); REDIS_URL (default redis://127.0.0.1:6379); BENCH_RUNS overrides the repetitions (smoke runs);
 * BENCH_WAIT_QUIET=1 waits for an idle machine before each repetition, at most BENCH_QUIET_MAX_S seconds
 * (default 300; shared development machines).
 */
import { loadavg } from "node:os";
import { assertBullmqDriver } from "./lib/bullmq-driver.ts";
import { measureForeignCpu } from "./lib/foreign-cpu.ts";
import { startBenchNatsServer } from "./lib/nats-server.ts";
import { log, printResult } from "./lib/output.ts";
import { waitForQuiet } from "./lib/quiet.ts";
import { checkRedis, DEFAULT_REDIS_URL, redisPid } from "./lib/redis.ts";
import { latencyLine, throughputLine, timeLine, type RunInfo, type Samples } from "./lib/summary.ts";
import { workloads, type AnyWorkload } from "./workloads/index.ts";
import type { BenchEnv, Kind, ThroughputFigures, VariantsWorkload, Workload } from "./workloads/types.ts";

function quietMaxWaitMs(): number {
  return (Number(process.env.BENCH_QUIET_MAX_S) || 300) * 1000;
}

function selectWorkloads(only: string | undefined): AnyWorkload[] {
  if (!only?.trim()) return [...workloads];
  const wanted = only
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const known = (name: string) => workloads.some((w) => w.name.toUpperCase() === name);
  const unknown = wanted.filter((name) => !known(name));
  if (unknown.length > 0) {
    const known = workloads.map((w) => w.name).join(", ");
    throw new Error(`BENCH_ONLY: unknown workload(s) ${unknown.join(", ")}; known: ${known}`);
  }
  return workloads.filter((w) => wanted.includes(w.name.toUpperCase()));
}

async function collect<K extends Kind>(
  w: Workload<K>,
  env: BenchEnv,
  runs: number,
): Promise<{ samples: Samples<K>; info: RunInfo }> {
  const samples: Samples<K> = { jetbus: [], raw: [], bullmq: [] };
  const info: RunInfo = { runs, loadAvg1m: loadavg()[0] ?? 0, foreignCpuPct: [] };
  for (let r = 1; r <= runs; r++) {
    if (process.env.BENCH_WAIT_QUIET === "1") await waitForQuiet(15, quietMaxWaitMs());
    log(`${w.name} run ${r}/${runs}`);
    const foreign = measureForeignCpu([env.natsServerPid, env.redisPid]);
    if (w.runJetbus) samples.jetbus.push(await w.runJetbus(env));
    const base = await w.runBaselines(env);
    if (base.raw) samples.raw.push(base.raw);
    if (base.bullmq) samples.bullmq.push(base.bullmq);
    const pct = foreign.stop();
    info.foreignCpuPct.push(pct);
    if (pct !== null && pct > 10) log(`warning: other processes used ${pct}% of the CPU during this run`);
  }
  return { samples, info };
}

/** Every variant once per repetition, interleaved, under the same quiet-wait and foreign-CPU bookkeeping. */
async function runVariants(
  w: VariantsWorkload,
  env: BenchEnv,
  runs: number,
): Promise<Record<string, unknown>> {
  const samples: Record<string, ThroughputFigures[]> = Object.fromEntries(
    w.variants.map((v) => [v.name, []]),
  );
  const info: RunInfo = { runs, loadAvg1m: loadavg()[0] ?? 0, foreignCpuPct: [] };
  for (let r = 1; r <= runs; r++) {
    if (process.env.BENCH_WAIT_QUIET === "1") await waitForQuiet(15, quietMaxWaitMs());
    log(`${w.name} run ${r}/${runs}`);
    const foreign = measureForeignCpu([env.natsServerPid, env.redisPid]);
    for (const v of w.variants) samples[v.name]!.push(await v.run(env));
    const pct = foreign.stop();
    info.foreignCpuPct.push(pct);
    if (pct !== null && pct > 10) log(`warning: other processes used ${pct}% of the CPU during this run`);
  }
  return w.summarize(samples, info);
}

async function runWorkload(w: AnyWorkload, env: BenchEnv): Promise<Record<string, unknown>> {
  const runs = Number(process.env.BENCH_RUNS) || w.runs;
  if (w.kind === "variants") {
    log(`${w.name}: ${w.title}`);
    return runVariants(w, env, runs);
  }
  log(`${w.name}: ${w.title}${w.runJetbus ? "" : " — jetbus side not plugged in yet"}`);
  switch (w.kind) {
    case "throughput": {
      const { samples, info } = await collect(w, env, runs);
      return throughputLine(w, samples, info);
    }
    case "latency": {
      const { samples, info } = await collect(w, env, runs);
      return latencyLine(w, samples, info);
    }
    case "time": {
      const { samples, info } = await collect(w, env, runs);
      return timeLine(w, samples, info);
    }
  }
}

async function main(): Promise<void> {
  const selected = selectWorkloads(process.env.BENCH_ONLY);
  const bullmq = process.env.BENCH_NO_BULLMQ !== "1";
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (bullmq) {
    await checkRedis(redisUrl);
    assertBullmqDriver();
  } else {
    log("BENCH_NO_BULLMQ=1: BullMQ baselines skipped");
  }
  const server = await startBenchNatsServer();
  log(`own nats-server at ${server.url} (pid ${server.pid})`);
  // Interrupted (Ctrl-C, a CI time-out): stop our server instead of leaving it running. Child processes
  // exit by themselves when their IPC channel to us closes.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    void server.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const env: BenchEnv = {
      natsUrl: server.url,
      natsServerPid: server.pid,
      natsMonitorUrl: server.monitorUrl,
      redisUrl,
      redisPid: bullmq ? await redisPid(redisUrl) : undefined,
      bullmq,
    };
    for (const w of selected) printResult(await runWorkload(w, env));
  } finally {
    await server.stop();
  }
}

try {
  await main();
} catch (err) {
  log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

/**
 * @module
 * P1-trace — what tracing costs: P1 (20,000 no-op jobs) with tracing off, with the three services exporting
 * OTLP/HTTP to a local sink at `parentbased_traceidratio` 0.1, and at `always_on`; the variants interleaved
 * per repetition, each figure the median. `cost_*` is the share of throughput lost against "off"
 * (0.07 = 7% slower). `cpu_us_per_job` is each variant's CPU per job per process (median per process), and
 * `cpu_cost_*` the share of the variant's CPU per job that tracing added (1 − off ÷ variant, totals): on a
 * saturated machine throughput goes as 1 ÷ CPU per job, and CPU per job swings far less with machine noise
 * than a rate does.
 */
import { median, round } from "../lib/stats.ts";
import { peakRss } from "../lib/summary.ts";
import type { BenchEnv, ThroughputFigures, VariantsWorkload } from "../workloads/types.ts";
import { startOtlpSink } from "./otlp-sink.ts";
import type { CostPerJob } from "./session.ts";
import { runJetbusThroughput } from "./workloads.ts";

const N = 20_000;
const WARMUP = 1000;

type Sampler = { name: string; env: Record<string, string> } | null;

function variant(name: string, sampler: Sampler) {
  return {
    name,
    async run(env: BenchEnv): Promise<ThroughputFigures> {
      if (!sampler) return runJetbusThroughput(env, { n: N, warmup: WARMUP, label: `P1-trace ${name}` });
      const sink = await startOtlpSink();
      try {
        const figures = await runJetbusThroughput(env, {
          n: N,
          warmup: WARMUP,
          label: `P1-trace ${name}`,
          serviceEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, ...sampler.env },
        });
        // Services flush their spans when stopped, which the session did before returning.
        const { posts, bytes } = sink.counts();
        return { ...figures, extra: { otlp_posts: posts, otlp_kb: round(bytes / 1024, 0) } };
      } finally {
        await sink.stop();
      }
    },
  };
}

function medianOf(xs: ThroughputFigures[], pick: (f: ThroughputFigures) => number | undefined) {
  const vals = xs.map(pick).filter((x): x is number => x !== undefined);
  return vals.length === 0 ? null : round(median(vals), 0);
}

/** Per process, the median of its CPU µs per job over the variant's repetitions. */
function cpuPerJob(xs: ThroughputFigures[]): Record<string, number> | null {
  const each = xs
    .map((f) => (f.detail as Partial<CostPerJob> | undefined)?.cpu_us_per_job)
    .filter((c): c is Record<string, number> => c !== undefined);
  if (each.length === 0) return null;
  const names = [...new Set(each.flatMap((c) => Object.keys(c)))];
  return Object.fromEntries(
    names.map((k) => [
      k,
      round(median(each.map((c) => c[k]).filter((v): v is number => v !== undefined)), 1),
    ]),
  );
}

const cpuCost = (variant: Record<string, number> | null, off: Record<string, number> | null) =>
  !variant?.total || !off?.total ? null : round(1 - off.total / variant.total, 3);

const cost = (variantPerSec: number | null, offPerSec: number | null) =>
  variantPerSec === null || offPerSec === null || offPerSec === 0
    ? null
    : round(1 - variantPerSec / offPerSec, 3);

export const p1Trace: VariantsWorkload = {
  name: "P1-trace",
  kind: "variants",
  title: `P1 (${N} no-op jobs) with tracing off / parentbased_traceidratio 0.1 / always_on (jobs/s)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  variants: [
    variant("off", null),
    variant("ratio_0_1", {
      name: "ratio_0_1",
      env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" },
    }),
    variant("always_on", { name: "always_on", env: { OTEL_TRACES_SAMPLER: "always_on" } }),
  ],
  summarize(samples, info) {
    const perSec = (v: string) => medianOf(samples[v] ?? [], (f) => f.perSec);
    const [off, ratio, always] = [perSec("off"), perSec("ratio_0_1"), perSec("always_on")];
    const cpu = Object.fromEntries(Object.entries(samples).map(([v, xs]) => [v, cpuPerJob(xs)]));
    return {
      workload: "P1-trace",
      off_per_s: off,
      ratio_0_1_per_s: ratio,
      always_on_per_s: always,
      cost_ratio_0_1: cost(ratio, off),
      cost_always_on: cost(always, off),
      cpu_cost_ratio_0_1: cpuCost(cpu.ratio_0_1 ?? null, cpu.off ?? null),
      cpu_cost_always_on: cpuCost(cpu.always_on ?? null, cpu.off ?? null),
      cpu_us_per_job: cpu,
      samples_per_s: Object.fromEntries(
        Object.entries(samples).map(([v, xs]) => [v, xs.map((f) => round(f.perSec, 0))]),
      ),
      otlp_kb: {
        ratio_0_1: medianOf(samples.ratio_0_1 ?? [], (f) => f.extra?.otlp_kb),
        always_on: medianOf(samples.always_on ?? [], (f) => f.extra?.otlp_kb),
      },
      otlp_posts: {
        ratio_0_1: medianOf(samples.ratio_0_1 ?? [], (f) => f.extra?.otlp_posts),
        always_on: medianOf(samples.always_on ?? [], (f) => f.extra?.otlp_posts),
      },
      rss_mb: Object.fromEntries(Object.entries(samples).map(([v, xs]) => [v, peakRss(xs) ?? {}])),
      n: N,
      runs: info.runs,
      warmup: WARMUP,
      load_avg_1m: round(info.loadAvg1m, 2),
      foreign_cpu_pct: info.foreignCpuPct,
    };
  },
};

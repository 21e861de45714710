/**
 * @module
 * Turns the repetitions of each side into one result line. Medians over runs; peak RSS is the highest per
 * process over runs. Every ratio reads "how many times better jetbus is": jetbus/baseline for rates,
 * baseline/jetbus for times and latencies; null when a side is missing.
 */
import type { FiguresOf, Kind, RssMb, Workload } from "../workloads/types.ts";
import { median, round } from "./stats.ts";

export type Side = "jetbus" | "raw" | "bullmq";
export type Samples<K extends Kind> = Record<Side, FiguresOf<K>[]>;
type Line = Record<string, unknown>;

const SIDES: readonly Side[] = ["jetbus", "raw", "bullmq"];

function med<T>(xs: T[], pick: (x: T) => number, digits = 1): number | null {
  return xs.length === 0 ? null : round(median(xs.map(pick)), digits);
}

function ratio(better: number | null, worse: number | null): number | null {
  return better === null || worse === null || worse === 0 ? null : round(better / worse, 2);
}

/** Per process, the highest RSS over the repetitions; null without any repetition. */
export function peakRss(figs: { rssMb: RssMb }[]): RssMb | null {
  if (figs.length === 0) return null;
  const out: RssMb = {};
  for (const f of figs) {
    for (const [proc, mb] of Object.entries(f.rssMb)) {
      const prev = out[proc] ?? null;
      out[proc] = mb === null ? prev : round(Math.max(prev ?? 0, mb), 1);
    }
  }
  return out;
}

/** Conditions of the run, printed with the figures so a noisy one can be told apart. */
export type RunInfo = {
  runs: number;
  loadAvg1m: number;
  /** Per repetition: share of the CPU that processes outside the benchmark used meanwhile. */
  foreignCpuPct: (number | null)[];
};

/** Medians of each side's extra figures, as `<side>_<key>` fields. */
function extras<K extends Kind>(s: Samples<K>): Line {
  const out: Line = {};
  for (const side of SIDES) {
    const keys = new Set(s[side].flatMap((f) => Object.keys(f.extra ?? {})));
    for (const k of keys) {
      const xs = s[side].map((f) => f.extra?.[k]).filter((x): x is number => x !== undefined);
      out[`${side}_${k}`] = med(xs, (x) => x, 4);
    }
  }
  return out;
}

function common<K extends Kind>(w: Workload<K>, s: Samples<K>, info: RunInfo): Line {
  const rss: Record<string, RssMb | null> = {};
  for (const side of SIDES) rss[side] = peakRss(s[side]);
  return {
    ...extras(s),
    rss_mb: rss,
    n: w.n,
    runs: info.runs,
    warmup: w.warmup,
    load_avg_1m: round(info.loadAvg1m, 2),
    foreign_cpu_pct: info.foreignCpuPct,
  };
}

/** The detail of the repetition whose rate is the median (the line's figure). */
function medianDetail(figs: { perSec: number; detail?: Record<string, unknown> }[]): Record<string, unknown> {
  const sorted = figs.filter((f) => f.detail).sort((a, b) => a.perSec - b.perSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]?.detail ?? {};
}

export function throughputLine(w: Workload<"throughput">, s: Samples<"throughput">, info: RunInfo): Line {
  const [j, r, b] = SIDES.map((side) => med(s[side], (f) => f.perSec, 0)) as [
    number | null,
    number | null,
    number | null,
  ];
  return {
    workload: w.name,
    jetbus_per_s: j,
    raw_per_s: r,
    bullmq_per_s: b,
    ratio_raw: ratio(j, r),
    ratio_bullmq: ratio(j, b),
    samples_per_s: Object.fromEntries(SIDES.map((side) => [side, s[side].map((f) => round(f.perSec, 0))])),
    ...medianDetail(s.jetbus),
    ...common(w, s, info),
  };
}

export function latencyLine(w: Workload<"latency">, s: Samples<"latency">, info: RunInfo): Line {
  const p50 = (side: Side) => med(s[side], (f) => f.p50Ms, 2);
  const p99 = (side: Side) => med(s[side], (f) => f.p99Ms, 2);
  const line: Line = {
    workload: w.name,
    p50_ms: p50("jetbus"),
    p99_ms: p99("jetbus"),
    bullmq_p50_ms: p50("bullmq"),
    bullmq_p99_ms: p99("bullmq"),
    ratio_bullmq_p50: ratio(p50("bullmq"), p50("jetbus")),
    ratio_bullmq_p99: ratio(p99("bullmq"), p99("jetbus")),
  };
  if (s.raw.length > 0) Object.assign(line, { raw_p50_ms: p50("raw"), raw_p99_ms: p99("raw") });
  for (const [field, alias] of Object.entries(w.aliases ?? {})) line[alias] = line[field];
  return { ...line, ...common(w, s, info) };
}

export function timeLine(w: Workload<"time">, s: Samples<"time">, info: RunInfo): Line {
  const ms = (side: Side) => med(s[side], (f) => f.ms, 0);
  const line: Line = { workload: w.name, jetbus_ms: ms("jetbus"), bullmq_ms: ms("bullmq") };
  if (s.raw.length > 0) line.raw_ms = ms("raw");
  line.ratio_bullmq = ratio(ms("bullmq"), ms("jetbus"));
  if (w.perStep) {
    const perStep = (side: Side) => med(s[side], (f) => f.ms / w.n, 2);
    Object.assign(line, { jetbus_per_step_ms: perStep("jetbus"), bullmq_per_step_ms: perStep("bullmq") });
  }
  line.samples_ms = Object.fromEntries(SIDES.map((side) => [side, s[side].map((f) => round(f.ms, 0))]));
  return { ...line, ...common(w, s, info) };
}

/**
 * @module
 * A workload is one comparison (P1…P6). Each side (jetbus, and the baselines raw NATS and BullMQ) is a
 * function that runs ONE measured repetition (including its own warm-up) in fresh processes and returns its
 * figures; the runner repeats them interleaved (side A, side B, side A, …) and takes medians.
 */

export type Kind = "throughput" | "latency" | "time";

/** Peak RSS in MB per process of one side, e.g. `{producer, worker, server}`; null where unreadable. */
export type RssMb = Record<string, number | null>;

/** Side-specific extra figures (e.g. P5's KV writes per member), printed as `<side>_<key>` medians. */
export type Extra = Record<string, number>;

/** Structured figures of one repetition (P1: where the time went); the line shows the median repetition's. */
export type Detail = Record<string, unknown>;

export type ThroughputFigures = { perSec: number; rssMb: RssMb; extra?: Extra; detail?: Detail };
export type LatencyFigures = { p50Ms: number; p99Ms: number; rssMb: RssMb; extra?: Extra };
export type TimeFigures = { ms: number; rssMb: RssMb; extra?: Extra };

export type FiguresOf<K extends Kind> = K extends "throughput"
  ? ThroughputFigures
  : K extends "latency"
    ? LatencyFigures
    : TimeFigures;

export type BenchEnv = {
  natsUrl: string;
  /** The bench's own nats-server, for RSS sampling. */
  natsServerPid: number;
  /** Its monitoring endpoint (`/connz`: messages and bytes per connection). */
  natsMonitorUrl?: string;
  redisUrl: string;
  redisPid: number | undefined;
  /** false with BENCH_NO_BULLMQ=1: baselines must then skip BullMQ. */
  bullmq: boolean;
  /** On a cluster (P7): every node's pid, for CPU per node; `natsServerPid` is then the first node's. */
  clusterPids?: number[];
};

export type BaselineFigures<K extends Kind> = { raw?: FiguresOf<K>; bullmq?: FiguresOf<K> };

export interface Workload<K extends Kind = Kind> {
  /** "P1" … "P6", as selected by BENCH_ONLY. */
  name: string;
  kind: K;
  /** One-line description printed to stderr. */
  title: string;
  /** Jobs per measured repetition (children for flows, steps for chains). */
  n: number;
  /** Measured repetitions; the result is their median. */
  runs: number;
  /** Warm-up jobs each side's processes handle before the measured part. */
  warmup: number;
  /** Names the line also gives some of its fields under (D1: `p50_ms` is `lateness_p50_ms`). */
  aliases?: Record<string, string>;
  /** Time workloads of `n` sequential steps: also print ms per step. */
  perStep?: boolean;
  /** The jetbus side; undefined until it is plugged in (the runner then prints null for it). */
  runJetbus?: (env: BenchEnv) => Promise<FiguresOf<K>>;
  runBaselines: (env: BenchEnv) => Promise<BaselineFigures<K>>;
}

/**
 * A comparison of jetbus against itself (e.g. tracing off / sampled / always on): every variant runs once per
 * repetition, interleaved, and `summarize` turns the samples into the workload's line.
 */
export interface VariantsWorkload {
  name: string;
  kind: "variants";
  title: string;
  n: number;
  runs: number;
  warmup: number;
  variants: readonly { name: string; run: (env: BenchEnv) => Promise<ThroughputFigures> }[];
  summarize(
    samples: Record<string, ThroughputFigures[]>,
    info: { runs: number; loadAvg1m: number; foreignCpuPct: (number | null)[] },
  ): Record<string, unknown>;
}

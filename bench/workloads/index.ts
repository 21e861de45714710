/**
 * @module
 * The workload registry, in run order. Each workload's `runJetbus` comes from bench/jetbus/workloads.ts;
 * P1-trace (jetbus with tracing off / sampled / always on) is a variants workload from bench/jetbus/p1-trace.ts.
 */
import { p1 } from "./p1-throughput.ts";
import { p2 } from "./p2-latency.ts";
import { p3 } from "./p3-batch.ts";
import { p4 } from "./p4-chain.ts";
import { p5 } from "./p5-big-batch.ts";
import { p6 } from "./p6-retries.ts";
import { d1 } from "./d1-delays.ts";
import { p7 } from "./p7-cluster.ts";
import { p1Trace } from "../jetbus/p1-trace.ts";
import type { VariantsWorkload, Workload } from "./types.ts";

export type AnyWorkload = Workload<"throughput"> | Workload<"latency"> | Workload<"time"> | VariantsWorkload;

export const workloads: readonly AnyWorkload[] = [p1, p1Trace, p2, p3, p4, p5, p6, d1, p7];

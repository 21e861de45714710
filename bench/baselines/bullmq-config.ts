/**
 * @module
 * Settings shared by the BullMQ baseline processes. Completed and failed jobs are trimmed to the last 1,000 —
 * what a production deployment sets, and the analogue of a WorkQueue stream deleting acked messages — so
 * Redis memory does not grow with every run.
 */
import type { JobsOptions } from "bullmq";
import { redisAddress } from "../lib/redis.ts";

export const CONCURRENCY = 50;

export const JOB_OPTS: JobsOptions = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } };

/** Connection options (not a client instance): BullMQ then creates and owns its ioredis clients. */
export function connectionFor(redisUrl: string): { host: string; port: number } {
  return redisAddress(redisUrl);
}

/** What the worker process does with each job (MODE). */
export type WorkerMode = "noop" | "chain" | "flaky";

/** Job names with a meaning to the worker: the last of a chain, the root of a flow. */
export const JobNames = {
  warm: "warm",
  step: "step",
  last: "last",
  parent: "parent",
  flaky: "flaky",
} as const;

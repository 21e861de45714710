/**
 * @module
 * Every stream, consumer, KV bucket and KV key name jetbus uses is built here, so the layout can be read
 * (and changed) in one place. docs/architecture.md has the same table for humans.
 */
import { createHash } from "node:crypto";

export const STREAMS = {
  /** Work queue of runnable jobs, subject `jetbus.jobs.<queue>.<type>`. */
  jobs: "JETBUS_JOBS",
  /**
   * Work queue of jobs waiting longer than a worker may hold them (delay, backoff, release): `Nats-Schedule`
   * messages that the server fires into `jetbus.due.…`, which JOBS sources as `jetbus.jobs.…`.
   */
  delayed: "JETBUS_DELAYED",
  /** Work queue of outcome batches from workers, consumed by coordinators. */
  outcomes: "JETBUS_OUTCOMES",
  /** Limits stream of jobs whose attempts are spent (or that could not be read), kept for replay. */
  deadLetters: "JETBUS_DLQ",
  /** Limits stream of lifecycle events with bounded retention. */
  events: "JETBUS_EVENTS",
  /** Limits stream of plain jobs' results in batches, by dispatch-time window and shard (`results.ts`). */
  results: "JETBUS_RESULTS",
} as const;

export const BUCKETS = {
  workflows: "jetbus-workflows",
  results: "jetbus-results",
  unique: "jetbus-unique",
  locks: "jetbus-locks",
  limits: "jetbus-limits",
  workers: "jetbus-workers",
  cancels: "jetbus-cancels",
} as const;

/** The stream behind a KV bucket. */
export const kvStreamName = (bucket: string) => `KV_${bucket}`;

export const CONSUMERS = {
  scheduler: "jetbus-scheduler",
  coordinator: "jetbus-coordinator",
} as const;

export const QUEUE_GROUPS = { dispatcher: "jetbus-dispatcher" } as const;

export function shortHash(input: string, hexChars = 10): string {
  return createHash("sha256").update(input).digest("hex").slice(0, hexChars);
}

/**
 * One durable consumer per (queue, type), so a worker pulls only the types it handles and a slow type never
 * blocks another. Consumer names may not contain dots or wildcards; the hash keeps sanitized names distinct.
 */
export function jobConsumerName(queue: string, type: string): string {
  const key = `${queue}\u0000${type}`;
  let name = consumerNames.get(key);
  if (name === undefined) {
    const readable = type.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 48);
    name = `jobs-${queue}-${readable}-${shortHash(key)}`;
    // A few (queue, type) pairs per process; it sits on the hot path of every job (sha256 otherwise).
    if (consumerNames.size < 10_000) consumerNames.set(key, name);
  }
  return name;
}
const consumerNames = new Map<string, string>();

/**
 * The never-pulled consumer on JETBUS_DELAYED that counts one (queue, type)'s waiting jobs: its `num_pending` is
 * the count, read from consumer info (one subject per waiting job makes a stream's subject listing grow with them).
 */
export function waitingConsumerName(queue: string, type: string): string {
  return jobConsumerName(queue, type).replace(/^jobs-/, "wait-");
}

export const keys = {
  chain: (id: string) => `chain.${id}`,
  batch: (id: string) => `batch.${id}`,
  workflow: (kind: "chain" | "batch", id: string) => `${kind}.${id}`,
  result: (dispatchId: string) => dispatchId,
  /** In `jetbus-results`: the replay whose result counts, for a job whose results are batched. */
  replayMarker: (dispatchId: string) => `replay.${dispatchId}`,
  /** sha256 of the logical job (queue, type, canonical payload), length-framed so fields cannot run together. */
  unique: (queue: string, type: string, canonicalPayload: string) =>
    createHash("sha256")
      .update(`jetbus:unique:v1|${queue.length}:${queue}|${type.length}:${type}|${canonicalPayload}`)
      .digest("hex"),
  lock: (key: string) => createHash("sha256").update(`lock|${key}`).digest("hex"),
  /** A fixed window per key: the window index in the key means no reset logic and no shared hot key. */
  limit: (key: string, windowIndex: number) =>
    `${createHash("sha256").update(`limit|${key}`).digest("hex")}.${windowIndex}`,
  worker: (workerId: string) => workerId,
  cancel: (batchId: string) => batchId,
} as const;

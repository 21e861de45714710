/**
 * @module
 * The public contracts of the SDK: the `Bus` (implemented over NATS by `connectBus` and in memory by
 * `createFakeBus`), dispatch results, wait outcomes, events and dead letters.
 */
import type { JetbusError } from "../protocol/errors.ts";
import type { EventKind, JobEnvelope } from "../protocol/schemas.ts";
import type { JobContext } from "../worker/context.ts";
import type { Handler, Middleware } from "../worker/middleware.ts";
import type { RegisterOptions } from "../worker/worker-host.ts";
import type { BatchBuilder, ChainBuilder } from "./builders.ts";
import type { Job } from "./job.ts";
import type { BatchInfo, ChainInfo } from "../protocol/workflow-info.ts";
import type { DeadLetterFilter } from "../protocol/dead-letter-filter.ts";

export interface DispatchResult {
  dispatchId: string;
  /** true when this dispatch id had already been accepted (a retried request): no second job was made */
  duplicate: boolean;
}

export type DispatchManyResult =
  | { ok: true; dispatchId: string; duplicate: boolean }
  | { ok: false; dispatchId?: string; error: JetbusError };

export type WaitOutcome =
  | { status: "succeeded"; result: unknown; attempts: number }
  | { status: "failed"; error: JetbusError; attempts: number };

export interface WaitOptions {
  /** ms; rejects with a TimeoutError (code TIMEOUT) when no outcome arrives in time @defaultValue 30_000 */
  timeout?: number;
}

export interface BusEvent {
  id: string;
  kind: EventKind;
  at: Date;
  /** stream sequence of the stored message that carried it: replay with `observe(fn, { fromSeq })` */
  seq: number;
  dispatchId?: string;
  jobId?: string;
  chainId?: string;
  batchId?: string;
  jobType?: string;
  queue?: string;
  attempt?: number;
  durationMs?: number;
  error?: JetbusError;
  callback?: string;
  counts?: { total: number; pending: number; processed: number; failed: number };
  traceparent?: string;
  /** diagnostic hop times (epoch ms), when the services stamp them (`JETBUS_HOP_TIMING=1`) */
  timing?: { enqueuedAt?: number; deliveredAt?: number; startedAt?: number };
}

export type Observer = (event: BusEvent) => void | Promise<void>;

export interface ObserveOptions {
  /** replay from this stream sequence (inclusive) */
  fromSeq?: number;
  /** replay from this time */
  fromTime?: Date;
  /** only these kinds */
  kinds?: EventKind[];
}

export interface Subscription {
  stop(): Promise<void>;
  /** resolves once the subscription is live (and, for a replay, once it is positioned) */
  ready: Promise<void>;
}

export interface DeadLetterInfo {
  /** stream sequence: the id to show, replay or remove */
  seq: number;
  /** where the job was when it failed (for a malformed message: where the garbage was found) */
  sourceSubject: string;
  /** the undecodable text of a malformed message */
  raw?: string;
  /** `unreadable`: the stored message is not a dead letter at all (its text is in `raw`) */
  reason:
    "exhausted" | "permanent" | "worker_died" | "malformed" | "no_handler" | "outcome_refused" | "unreadable";
  subject: string;
  jobType?: string;
  queue?: string;
  dispatchId?: string;
  jobId?: string;
  payload?: unknown;
  /** the envelope's attempt when it was dead-lettered */
  attempt?: number;
  /** the job as it was last delivered (wire form) */
  envelope?: JobEnvelope;
  /** the chain or batch the job belongs to (a member, a node or a callback) */
  workflowId?: string;
  error: JetbusError;
  attempts: number;
  failedAt: Date;
}

export interface DeadLetterListOptions extends DeadLetterFilter {
  /** at most this many @defaultValue 100 */
  limit?: number;
  /** the page after this stream sequence (a page's `nextSeq`) */
  afterSeq?: number;
}

export interface DeadLetterPage {
  letters: DeadLetterInfo[];
  /** pass as `afterSeq` for the next page; null when there are no more */
  nextSeq: number | null;
}

export interface BulkResult {
  done: number;
  failed: { seq: number; message: string }[];
}

export interface DeadLetters {
  /** Letters matching the filter, oldest first (`shared/protocol/dead-letter-filter.ts`). */
  list(opts?: DeadLetterListOptions): Promise<DeadLetterInfo[]>;
  page(opts?: DeadLetterListOptions): Promise<DeadLetterPage>;
  /**
   * How many match now, and the stream's last sequence: the set a bulk action then acts on. With `upToSeq`,
   * how many of a confirmed set still match (a bulk action's check that the set did not change).
   */
  count(filter?: DeadLetterFilter, upToSeq?: number): Promise<{ count: number; upToSeq: number }>;
  /** Replays every letter matching the filter up to `upToSeq` (a `count`'s). */
  replayMatching(filter: DeadLetterFilter, upToSeq: number): Promise<BulkResult>;
  /** Removes every letter matching the filter up to `upToSeq` (a `count`'s). */
  removeMatching(filter: DeadLetterFilter, upToSeq: number): Promise<BulkResult>;
  show(seq: number): Promise<DeadLetterInfo>;
  /** Puts the job back on its queue with fresh attempts and removes the dead letter. */
  replay(seq: number): Promise<{ dispatchId: string }>;
  remove(seq: number): Promise<void>;
}

export interface StartWorkersOptions {
  queues?: string[];
  concurrency?: number;
}

export interface Bus {
  register<R = unknown>(
    type: string,
    handler: (ctx: JobContext) => R | Promise<R>,
    opts?: RegisterOptions,
  ): void;
  withMiddleware(...middleware: Middleware[]): Bus;
  startWorkers(opts?: StartWorkersOptions): Promise<void>;
  dispatch(job: Job): Promise<DispatchResult>;
  dispatchMany(jobs: readonly Job[]): Promise<DispatchManyResult[]>;
  wait(id: string, opts?: WaitOptions): Promise<WaitOutcome>;
  chain(...jobs: Job[]): ChainBuilder;
  batch(...jobs: Job[]): BatchBuilder;
  findChain(chainId: string): Promise<ChainInfo>;
  findBatch(batchId: string): Promise<BatchInfo>;
  cancelBatch(batchId: string, reason?: string): Promise<void>;
  /** Removes finished chains and batches (with their callback records) last changed before `before`. */
  prune(before: Date): Promise<number>;
  observe(observer: Observer, opts?: ObserveOptions): Subscription;
  readonly deadLetters: DeadLetters;
  shutdown(): Promise<void>;
}

export type { Handler, Middleware };

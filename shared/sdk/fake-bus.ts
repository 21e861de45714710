/**
 * @module
 * `createFakeBus()`: the Go `bus` package's `Fake`. It implements `Bus`, records what would have been dispatched (jobs,
 * chains, batches — only dispatches that were actually made) and runs nothing. Assertions throw node's
 * `AssertionError` showing what was recorded, so any test runner reports them.
 */
import { AssertionError } from "node:assert";
import { NotFoundError } from "../protocol/errors.ts";
import { BatchBuilder, ChainBuilder, type BatchSpec, type ChainSpec } from "./builders.ts";
import type { Job, JobOptions } from "./job.ts";
import type {
  Bus,
  DeadLetters,
  DispatchManyResult,
  DispatchResult,
  Subscription,
  WaitOutcome,
} from "./types.ts";
import type { BatchInfo, ChainInfo } from "../protocol/workflow-info.ts";

export interface RecordedDispatch {
  dispatchId: string;
  type: string;
  queue: string;
  payload: unknown;
  options: Readonly<JobOptions>;
}
export interface RecordedChain {
  chainId: string;
  types: string[];
  queue?: string;
  jobs: RecordedDispatch[];
}
export interface RecordedBatch {
  batchId: string;
  types: string[];
  name?: string;
  queue?: string;
  allowFailures: boolean;
  jobs: RecordedDispatch[];
}

const DEFAULT_QUEUE = "default";

export class FakeBus implements Bus {
  readonly dispatched: RecordedDispatch[] = [];
  readonly chains: RecordedChain[] = [];
  readonly batches: RecordedBatch[] = [];
  private seq = 0;

  readonly deadLetters: DeadLetters = {
    list: async () => [],
    page: async () => ({ letters: [], nextSeq: null }),
    count: async () => ({ count: 0, upToSeq: 0 }),
    replayMatching: async () => ({ done: 0, failed: [] }),
    removeMatching: async () => ({ done: 0, failed: [] }),
    show: async (seq) => Promise.reject(new NotFoundError(`dead letter ${seq}`)),
    replay: async (seq) => Promise.reject(new NotFoundError(`dead letter ${seq}`)),
    remove: async () => undefined,
  };

  private record(j: Job, queue?: string): RecordedDispatch {
    return {
      dispatchId: j.dispatchId ?? `fake_${++this.seq}`,
      type: j.type,
      queue: j.options.queue ?? queue ?? DEFAULT_QUEUE,
      payload: j.payload ?? null,
      options: j.options,
    };
  }

  // The parameters are declared so code typed against the fake (not just Bus) can call these.
  register(..._args: Parameters<Bus["register"]>): void {}
  withMiddleware(..._middleware: Parameters<Bus["withMiddleware"]>): Bus {
    return this;
  }
  async startWorkers(..._args: Parameters<Bus["startWorkers"]>): Promise<void> {}
  async shutdown(): Promise<void> {}

  async dispatch(j: Job): Promise<DispatchResult> {
    const r = this.record(j);
    this.dispatched.push(r);
    return { dispatchId: r.dispatchId, duplicate: false };
  }

  async dispatchMany(jobs: readonly Job[]): Promise<DispatchManyResult[]> {
    const out: DispatchManyResult[] = [];
    for (const j of jobs) {
      const r = await this.dispatch(j);
      out.push({ ok: true, dispatchId: r.dispatchId, duplicate: false });
    }
    return out;
  }

  async wait(id: string): Promise<WaitOutcome> {
    throw new NotFoundError(`outcome of ${id} (the fake runs nothing)`);
  }

  chain(...jobs: Job[]): ChainBuilder {
    return new ChainBuilder({ jobs }, async (spec: ChainSpec) => {
      const chainId = `fake_chain_${++this.seq}`;
      const recorded = spec.jobs.map((j) => this.record(j, spec.queue));
      this.chains.push({
        chainId,
        types: recorded.map((r) => r.type),
        jobs: recorded,
        ...(spec.queue ? { queue: spec.queue } : {}),
      });
      return chainId;
    });
  }

  batch(...jobs: Job[]): BatchBuilder {
    return new BatchBuilder({ jobs, allowFailures: false }, async (spec: BatchSpec) => {
      const batchId = `fake_batch_${++this.seq}`;
      const recorded = spec.jobs.map((j) => this.record(j, spec.queue));
      this.batches.push({
        batchId,
        types: recorded.map((r) => r.type),
        allowFailures: spec.allowFailures,
        jobs: recorded,
        ...(spec.name ? { name: spec.name } : {}),
        ...(spec.queue ? { queue: spec.queue } : {}),
      });
      return batchId;
    });
  }

  async findChain(id: string): Promise<ChainInfo> {
    throw new NotFoundError(`chain ${id}`);
  }
  async findBatch(id: string): Promise<BatchInfo> {
    throw new NotFoundError(`batch ${id}`);
  }
  async cancelBatch(..._args: Parameters<Bus["cancelBatch"]>): Promise<void> {}
  async prune(..._args: Parameters<Bus["prune"]>): Promise<number> {
    return 0;
  }
  observe(..._args: Parameters<Bus["observe"]>): Subscription {
    return { ready: Promise.resolve(), stop: async () => undefined };
  }

  /** Forgets everything recorded. */
  reset(): void {
    this.dispatched.length = 0;
    this.chains.length = 0;
    this.batches.length = 0;
  }

  private fail(message: string, expected?: unknown, actual?: unknown): never {
    throw new AssertionError({ message, expected, actual, operator: "fake-bus" });
  }

  private recorded(): string {
    const types = this.dispatched.map((d) => `${d.type}@${d.queue}`);
    return types.length ? `dispatched: ${types.join(", ")}` : "nothing was dispatched";
  }

  assertDispatched(match: string | ((d: RecordedDispatch) => boolean)): void {
    const ok =
      typeof match === "string" ? this.dispatched.some((d) => d.type === match) : this.dispatched.some(match);
    if (!ok)
      this.fail(
        `expected ${typeof match === "string" ? `"${match}"` : "a matching job"} to be dispatched; ${this.recorded()}`,
      );
  }

  assertDispatchedOn(queue: string, type: string): void {
    if (!this.dispatched.some((d) => d.type === type && d.queue === queue)) {
      this.fail(`expected "${type}" to be dispatched on queue "${queue}"; ${this.recorded()}`);
    }
  }

  assertDispatchedTimes(type: string, n: number): void {
    const count = this.dispatched.filter((d) => d.type === type).length;
    if (count !== n)
      this.fail(
        `expected "${type}" to be dispatched ${n} time(s), it was dispatched ${count}; ${this.recorded()}`,
        n,
        count,
      );
  }

  assertNotDispatched(type: string): void {
    if (this.dispatched.some((d) => d.type === type))
      this.fail(`expected "${type}" not to be dispatched; ${this.recorded()}`);
  }

  assertNothingDispatched(): void {
    if (this.dispatched.length > 0) this.fail(`expected nothing to be dispatched; ${this.recorded()}`);
  }

  assertCount(n: number): void {
    if (this.dispatched.length !== n)
      this.fail(
        `expected ${n} dispatch(es), got ${this.dispatched.length}; ${this.recorded()}`,
        n,
        this.dispatched.length,
      );
  }

  assertChained(types: string[]): void {
    const match = this.chains.some(
      (c) => c.types.length === types.length && c.types.every((t, i) => t === types[i]),
    );
    if (!match) {
      const seen = this.chains.map((c) => `[${c.types.join(" → ")}]`).join(", ") || "no chains";
      this.fail(
        `expected a chain [${types.join(" → ")}]; recorded: ${seen}`,
        types,
        this.chains.map((c) => c.types),
      );
    }
  }

  private recordedBatches(): string {
    return (
      this.batches.map((b) => `${b.name ?? "(unnamed)"}: [${b.types.join(", ")}]`).join("; ") || "no batches"
    );
  }

  assertBatched(predicate: (batch: RecordedBatch) => boolean): void {
    if (!this.batches.some(predicate)) {
      this.fail(`expected a matching batch; recorded: ${this.recordedBatches()}`);
    }
  }

  assertBatchCount(n: number): void {
    if (this.batches.length !== n)
      this.fail(
        `expected ${n} batch(es), got ${this.batches.length}; recorded: ${this.recordedBatches()}`,
        n,
        this.batches.length,
      );
  }

  assertNothingBatched(): void {
    if (this.batches.length > 0)
      this.fail(`expected no batches, got ${this.batches.length}; recorded: ${this.recordedBatches()}`);
  }
}

/** A Bus that records and runs nothing, with the Go `bus` package's assertions. */
export function createFakeBus(): FakeBus {
  return new FakeBus();
}

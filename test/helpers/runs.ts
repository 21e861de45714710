/**
 * @module
 * One recorder of handler runs for every integration test: what ran (type, ids, attempt, when, the callback's
 * workflow state and error, the payload), with bounded waits. Register `runs.handler(behaviour)`, or call
 * `runs.record(ctx)` inside a handler of your own.
 */
import type { BatchInfo, ChainInfo, JetbusError, JobContext } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/index.ts";

export interface Run {
  type: string;
  jobId: string;
  dispatchId: string;
  attempt: number;
  /** performance.now() when the handler started */
  at: number;
  chainId?: string;
  batchId?: string;
  callback?: string;
  workflow?: ChainInfo | BatchInfo;
  error?: JetbusError;
  payload: unknown;
}

export type Behaviour = (ctx: JobContext) => unknown;

export class Runs {
  readonly all: Run[] = [];

  /** Records this run of `ctx`'s job. */
  record(ctx: JobContext): Run {
    const run: Run = {
      type: ctx.jobType,
      jobId: ctx.jobId,
      dispatchId: ctx.dispatchId,
      attempt: ctx.attempt,
      at: performance.now(),
      payload: ctx.bind<unknown>(),
    };
    if (ctx.chainId) run.chainId = ctx.chainId;
    if (ctx.batchId) run.batchId = ctx.batchId;
    if (ctx.callback) run.callback = ctx.callback;
    if (ctx.workflow) run.workflow = ctx.workflow;
    if (ctx.error) run.error = ctx.error;
    this.all.push(run);
    return run;
  }

  /** A handler that records each run, then does what `behaviour` says. */
  handler(behaviour?: Behaviour): (ctx: JobContext) => Promise<unknown> {
    return async (ctx) => {
      this.record(ctx);
      return behaviour?.(ctx);
    };
  }

  /** Runs of `type`, or all runs. */
  of(type?: string): Run[] {
    return type === undefined ? this.all : this.all.filter((r) => r.type === type);
  }

  count(type?: string): number {
    return this.of(type).length;
  }

  attempts(type?: string): number[] {
    return this.of(type).map((r) => r.attempt);
  }

  /** Waits until at least `n` runs (of `type`, or in all) have started. */
  async waitCount(type: string | undefined, n: number, timeoutMs = 15_000): Promise<Run[]> {
    const what = `${n} run(s)${type === undefined ? "" : ` of ${type}`}`;
    await waitFor(`${what} (have ${this.count(type)})`, () => this.count(type) >= n, { timeoutMs });
    return this.of(type);
  }
}

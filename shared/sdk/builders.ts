/**
 * @module
 * Chain and batch builders: immutable, fluent, and not promises. A batch's `then(job)` takes a job; given a
 * function (which is what `await builder` passes) it throws "did you forget .dispatch()?", so a forgotten
 * `.dispatch()` fails loudly instead of hanging.
 */
import { ValidationError } from "../protocol/errors.ts";
import { assertJob, type Job } from "./job.ts";

export interface ChainSpec {
  jobs: readonly Job[];
  queue?: string;
  catch?: Job;
  finally?: Job;
}

export interface BatchSpec {
  jobs: readonly Job[];
  name?: string;
  queue?: string;
  allowFailures: boolean;
  progress?: Job;
  then?: Job;
  catch?: Job;
  finally?: Job;
}

const FORGOT_DISPATCH =
  "did you forget .dispatch()? A builder is not a promise: call .dispatch() and await that";

function checkJobs(jobs: readonly unknown[], what: string): asserts jobs is readonly Job[] {
  if (jobs.length === 0) throw new ValidationError(`a ${what} needs at least one job`);
  jobs.forEach((j, i) => assertJob(j, `${what} job ${i}`));
}

export class ChainBuilder {
  constructor(
    private readonly spec: ChainSpec,
    private readonly run: (spec: ChainSpec) => Promise<string>,
  ) {
    checkJobs(spec.jobs, "chain");
  }

  /** Default queue for nodes (and callbacks) that set none. */
  onQueue(queue: string): ChainBuilder {
    return new ChainBuilder({ ...this.spec, queue }, this.run);
  }
  /** Job run once if the chain fails (its ctx carries the chain state and the error). */
  catch(j: Job): ChainBuilder {
    assertJob(j, "chain.catch()");
    return new ChainBuilder({ ...this.spec, catch: j }, this.run);
  }
  /** Job run once when the chain ends, either way. */
  finally(j: Job): ChainBuilder {
    assertJob(j, "chain.finally()");
    return new ChainBuilder({ ...this.spec, finally: j }, this.run);
  }
  /** Creates the chain and starts its first job; resolves with the chain id. Each call makes a new chain. */
  dispatch(): Promise<string> {
    return this.run(this.spec);
  }
  /** Not a promise: `await chain(...)` without `.dispatch()` would otherwise resolve to the builder silently. */
  then(_onFulfilled?: unknown): never {
    throw new ValidationError(FORGOT_DISPATCH);
  }
}

export class BatchBuilder {
  constructor(
    private readonly spec: BatchSpec,
    private readonly run: (spec: BatchSpec) => Promise<string>,
  ) {
    checkJobs(spec.jobs, "batch");
  }

  private with(patch: Partial<BatchSpec>): BatchBuilder {
    return new BatchBuilder({ ...this.spec, ...patch }, this.run);
  }

  /** A display name, shown by findBatch and `jetbus batch`. */
  name(name: string): BatchBuilder {
    return this.with({ name });
  }
  /** Default queue for members (and callbacks) that set none. */
  onQueue(queue: string): BatchBuilder {
    return this.with({ queue });
  }
  /** Keep going when members fail: catch at the first failure, then + finally at completion. */
  allowFailures(): BatchBuilder {
    return this.with({ allowFailures: true });
  }
  /** Job published after member outcomes are recorded (one call may cover several outcomes). */
  progress(j: Job): BatchBuilder {
    assertJob(j, "batch.progress()");
    return this.with({ progress: j });
  }
  /** Job run once when the batch completes without being cancelled. */
  then(j: Job): BatchBuilder {
    if (typeof j === "function") throw new ValidationError(FORGOT_DISPATCH);
    assertJob(j, "batch.then()");
    return this.with({ then: j });
  }
  /** Job run once at the first failure (or cancellation); its ctx carries the error. */
  catch(j: Job): BatchBuilder {
    assertJob(j, "batch.catch()");
    return this.with({ catch: j });
  }
  /** Job run once when the batch ends, either way. */
  finally(j: Job): BatchBuilder {
    assertJob(j, "batch.finally()");
    return this.with({ finally: j });
  }
  /** Creates the batch (in chunks when large) and publishes its members; resolves with the batch id. */
  dispatch(): Promise<string> {
    return this.run(this.spec);
  }
}

/**
 * @module
 * `job(type, payload)`: an immutable job description with fluent options, read like a sentence:
 * `job("monitor:poll", { url }).onQueue("critical").delay(2_000).timeout(15_000).retry(3).backoff(500)`.
 * Every setter returns a new Job; durations are milliseconds.
 */
import { ValidationError } from "../protocol/errors.ts";
import type { JobOptionsWire, JobRequest } from "../protocol/schemas.ts";

export interface JobOptions {
  /** queue to run on; the bus default ("default") when unset */
  queue?: string;
  /** hold before the first attempt @defaultValue 0 */
  delayMs: number;
  /** per attempt: `ctx.signal` aborts and the attempt fails @defaultValue 0 (none) */
  timeoutMs: number;
  /** retries after the first attempt (attempts = retry + 1) @defaultValue 0 */
  retry: number;
  /** fixed delay between attempts @defaultValue 0 */
  backoffMs: number;
  /** reject an identical (queue, type, payload) dispatch for this long @defaultValue 0 (off) */
  uniqueForMs: number;
}

const NONE: JobOptions = { delayMs: 0, timeoutMs: 0, retry: 0, backoffMs: 0, uniqueForMs: 0 };

function ms(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new ValidationError(`${name} must be a number of milliseconds >= 0, got ${value}`);
  return Math.round(value);
}

export class Job<P = unknown> {
  private constructor(
    readonly type: string,
    readonly payload: P,
    readonly options: Readonly<JobOptions>,
    /** a caller-made dispatch id (idempotent dispatch); a new one is made per dispatch when unset */
    readonly dispatchId?: string,
  ) {}

  static create<P>(type: string, payload: P): Job<P> {
    if (typeof type !== "string" || type.length === 0) throw new ValidationError("job type is required");
    return new Job(type, payload, NONE);
  }

  private with(patch: Partial<JobOptions>): Job<P> {
    return new Job(this.type, this.payload, { ...this.options, ...patch }, this.dispatchId);
  }

  onQueue(queue: string): Job<P> {
    return this.with({ queue });
  }
  delay(delayMs: number): Job<P> {
    return this.with({ delayMs: ms("delay", delayMs) });
  }
  timeout(timeoutMs: number): Job<P> {
    return this.with({ timeoutMs: ms("timeout", timeoutMs) });
  }
  retry(times: number): Job<P> {
    if (!Number.isInteger(times) || times < 0)
      throw new ValidationError(`retry must be a whole number >= 0, got ${times}`);
    return this.with({ retry: times });
  }
  backoff(backoffMs: number): Job<P> {
    return this.with({ backoffMs: ms("backoff", backoffMs) });
  }
  uniqueFor(ttlMs: number): Job<P> {
    return this.with({ uniqueForMs: ms("uniqueFor", ttlMs) });
  }
  /** Use your own dispatch id: sending the same id again returns the first reply and never makes a second job. */
  withId(dispatchId: string): Job<P> {
    return new Job(this.type, this.payload, this.options, dispatchId);
  }
}

/** A new job of `type` with a JSON-serialisable payload. */
export function job<P = unknown>(type: string, payload?: P): Job<P> {
  return Job.create(type, payload as P);
}

export function toJobRequest(j: Job, dispatchId?: string): JobRequest {
  const o = j.options;
  const options: JobOptionsWire = {};
  if (o.delayMs) options.delay_ms = o.delayMs;
  if (o.timeoutMs) options.timeout_ms = o.timeoutMs;
  if (o.retry) options.retry = o.retry;
  if (o.backoffMs) options.backoff_ms = o.backoffMs;
  if (o.uniqueForMs) options.unique_for_ms = o.uniqueForMs;
  const req: JobRequest = { type: j.type, options };
  const id = dispatchId ?? j.dispatchId;
  if (id) req.dispatch_id = id;
  if (o.queue) req.queue = o.queue;
  if (j.payload !== undefined && j.payload !== null) req.payload = j.payload;
  return req;
}

export function assertJob(value: unknown, where: string): asserts value is Job {
  if (!(value instanceof Job)) {
    throw new ValidationError(
      typeof value === "function"
        ? `${where} takes a job (job("type", payload)), not a function: callbacks are jobs run by workers`
        : `${where} takes a job made with job("type", payload)`,
    );
  }
}

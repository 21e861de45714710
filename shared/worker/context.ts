/**
 * @module
 * The job context a handler receives (the Go `bus` package's `Context`, whose API jetbus follows): ids, the 0-based attempt, the payload, an abort
 * signal for the per-attempt timeout, and for callback jobs the workflow state (and, for `catch`, the error).
 * Everything a handler may not use (payload bytes, logger, workflow view) is built on first use: it sits on
 * the path of every job.
 */
import type { TtlBucket } from "../nats/kv-ttl.ts";
import { fromErrorBody, ValidationError, type JetbusError } from "../protocol/errors.ts";
import type { JobEnvelope } from "../protocol/schemas.ts";
import { workflowInfo, type WorkflowInfo } from "../protocol/workflow-info.ts";
import type { Logger } from "../telemetry/logger.ts";

/** Internal: what KV-backed middleware reaches through the context (not part of the public API). */
export const RUNTIME = Symbol("jetbus.runtime");
export interface JobRuntime {
  locks: TtlBucket;
  limits: TtlBucket;
  now: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class JobContext {
  readonly schemaVersion = 1;
  readonly dispatchId: string;
  readonly jobId: string;
  readonly chainId: string | undefined;
  readonly batchId: string | undefined;
  /** 0-based: failed runs (and deliveries whose worker died) before this one */
  readonly attempt: number;
  /** retry + 1 */
  readonly maxAttempts: number;
  readonly jobType: string;
  readonly queue: string;
  /** aborts when the attempt's timeout passes */
  readonly signal: AbortSignal;
  readonly callback: "then" | "catch" | "finally" | "progress" | undefined;
  readonly [RUNTIME]: JobRuntime | undefined;
  private raw: Uint8Array | undefined;
  private logger: Logger | undefined;
  private info: WorkflowInfo | undefined;
  private failure: JetbusError | undefined;

  constructor(
    private readonly env: JobEnvelope,
    attempt: number,
    signal: AbortSignal,
    private readonly makeLog: () => Logger,
    private readonly heartbeat: () => void,
    runtime?: JobRuntime,
  ) {
    this[RUNTIME] = runtime;
    this.dispatchId = env.dispatch_id;
    this.jobId = env.job_id;
    this.chainId = env.chain?.id;
    this.batchId = env.batch?.id;
    this.attempt = attempt;
    this.maxAttempts = (env.options.retry ?? 0) + 1;
    this.jobType = env.type;
    this.queue = env.queue;
    this.signal = signal;
    this.callback = env.callback?.kind;
  }

  /** A logger whose lines carry this job's ids (and trace ids). */
  get log(): Logger {
    return (this.logger ??= this.makeLog());
  }

  /** For then/catch/finally/progress callback jobs: the chain or batch state when the callback was published. */
  get workflow(): WorkflowInfo | undefined {
    if (!this.env.callback) return undefined;
    return (this.info ??= workflowInfo(this.env.callback.state));
  }

  /** For a `catch` callback: the failure that triggered it. */
  get error(): JetbusError | undefined {
    const body = this.env.callback?.error;
    return body ? (this.failure ??= fromErrorBody(body)) : undefined;
  }

  private bytes(): Uint8Array {
    return (this.raw ??= encoder.encode(JSON.stringify(this.env.payload ?? null)));
  }

  /** A copy of the raw JSON payload bytes: changing it changes nothing else. */
  get payload(): Uint8Array {
    return this.bytes().slice();
  }

  /** The payload parsed from JSON (a fresh copy each call). Validate it yourself: the type is a promise. */
  bind<T>(): T {
    try {
      return JSON.parse(decoder.decode(this.bytes())) as T;
    } catch (err) {
      throw new ValidationError(`payload of ${this.jobType} is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** Tells the server this job is still being worked on (automatic while a handler runs; call it in tight loops). */
  working(): void {
    this.heartbeat();
  }
}

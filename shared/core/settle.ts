/**
 * @module
 * Settling one attempt of a job: the decision, made from the attempt, the job's options and how the handler
 * ended, with the clock passed in. The worker performs it (publish the retry or the dead letter, report the
 * outcome, ack).
 *
 * - A delivery whose earlier holders all died mid-run ({@link beforeRun}) is not run again once the deaths
 *   alone exceed the retries: it is dead-lettered as `worker_died`.
 * - Success is success. A release (rate limit, lock held elsewhere, shutting down) puts the job back for later
 *   without using an attempt. A `PERMANENT` error, or a failure on the last attempt, dead-letters it; any other
 *   failure retries it after the fixed backoff.
 */
import type { ErrorCodes } from "../protocol/error-codes.ts";
import type { DeadLetterReason, JobOptionsWire } from "../protocol/schemas.ts";

/** How an attempt that did not succeed ended. */
export interface AttemptFailure {
  /** the error's code (`PERMANENT` ends retries at once) */
  code: string;
  /** set when the handler asked to be put back for this long without using an attempt */
  releaseAfterMs?: number;
}

export type Settlement =
  | { kind: "succeed" }
  /** the next attempt, as a new message that may not start before `notBefore` */
  | { kind: "retry"; attempt: number; notBefore?: number }
  /** the same attempt again, later */
  | { kind: "release"; notBefore?: number }
  /** `attempts`: how many runs the dead letter records */
  | { kind: "dead-letter"; reason: Extract<DeadLetterReason, "permanent" | "exhausted">; attempts: number };

export type BeforeRun =
  | { kind: "run" }
  /** `reportedAttempt`: the attempt the failed outcome names (the last one the job was allowed) */
  | { kind: "dead-letter"; reason: "worker_died"; attempts: number; reportedAttempt: number };

/** `attempt` counts failed runs and deliveries whose worker died; past `retry` the job is not run again. */
export function beforeRun(attempt: number, options: JobOptionsWire): BeforeRun {
  const retry = options.retry ?? 0;
  if (attempt <= retry) return { kind: "run" };
  return { kind: "dead-letter", reason: "worker_died", attempts: attempt, reportedAttempt: retry };
}

/** Codes that end retries at once (literals: only types may leave the pure core; the types check them). */
const PERMANENT: (typeof ErrorCodes)["Permanent"] = "PERMANENT";
/** a result over its budget: running the job again would make it again */
const RESULT_TOO_LARGE: (typeof ErrorCodes)["ResultTooLarge"] = "RESULT_TOO_LARGE";

const later = (now: number, ms: number): { notBefore?: number } => (ms > 0 ? { notBefore: now + ms } : {});

export function settleAttempt(
  attempt: number,
  options: JobOptionsWire,
  failure: AttemptFailure | null,
  now: number,
): Settlement {
  if (!failure) return { kind: "succeed" };
  if (failure.releaseAfterMs !== undefined) return { kind: "release", ...later(now, failure.releaseAfterMs) };
  if (failure.code === PERMANENT || failure.code === RESULT_TOO_LARGE)
    return { kind: "dead-letter", reason: "permanent", attempts: attempt + 1 };
  if (attempt >= (options.retry ?? 0))
    return { kind: "dead-letter", reason: "exhausted", attempts: attempt + 1 };
  return { kind: "retry", attempt: attempt + 1, ...later(now, options.backoff_ms ?? 0) };
}

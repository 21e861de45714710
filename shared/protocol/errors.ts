/**
 * @module
 * One error hierarchy: `JetbusError` with a string `code` and `retryable`; a few subclasses callers catch by
 * class. `toErrorBody` / `fromErrorBody` move errors over the wire without losing the code.
 */
import { ErrorCodes, type ErrorCode } from "./error-codes.ts";
import type { ErrorBody } from "./schemas.ts";

export class JetbusError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details?: unknown;
  constructor(
    code: ErrorCode | string,
    message: string,
    opts: { retryable?: boolean; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    if (opts.details !== undefined) this.details = opts.details;
  }
}

export class ValidationError extends JetbusError {
  constructor(message: string, details?: unknown) {
    super(ErrorCodes.Validation, message, { details });
  }
}

export class NotFoundError extends JetbusError {
  constructor(what: string) {
    super(ErrorCodes.NotFound, `${what} not found`);
  }
}

export class DuplicateError extends JetbusError {
  constructor(
    message = "duplicate job: an identical job (queue, type, payload) is still within its uniqueFor window",
    details?: unknown,
  ) {
    super(ErrorCodes.Duplicate, message, { details });
  }
}

export class TimeoutError extends JetbusError {
  constructor(message: string) {
    super(ErrorCodes.Timeout, message, { retryable: true });
  }
}

/** Thrown by a handler (or made by `failOnError`) to end retries at once. */
export class PermanentError extends JetbusError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(ErrorCodes.Permanent, message, opts);
  }
}

/**
 * Thrown to put a job back for later without using up an attempt (BullMQ's DelayedError, Laravel's
 * `release()`); `rateLimit` and `withoutOverlapping` throw its subclasses.
 */
export class ReleaseError extends JetbusError {
  readonly retryAfterMs: number;
  constructor(
    retryAfterMs: number,
    message = `job released for ${retryAfterMs} ms`,
    code: string = ErrorCodes.Released,
  ) {
    super(code, message, { retryable: true });
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  }
}

export class RateLimitedError extends ReleaseError {
  constructor(key: string, retryAfterMs: number) {
    super(
      retryAfterMs,
      `rate limit reached for "${key}": released for ${Math.ceil(retryAfterMs)} ms`,
      ErrorCodes.RateLimited,
    );
  }
}

export class OverlappingError extends ReleaseError {
  constructor(key: string, retryAfterMs: number) {
    super(
      retryAfterMs,
      `another job holds the lock "${key}": released for ${Math.ceil(retryAfterMs)} ms`,
      ErrorCodes.Overlapping,
    );
  }
}

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof JetbusError) {
    const body: ErrorBody = { code: err.code, message: err.message, retryable: err.retryable };
    if (err.details !== undefined) body.details = err.details;
    return body;
  }
  if (err instanceof Error)
    return { code: ErrorCodes.HandlerError, message: err.message || err.name, retryable: true };
  // A handler may throw anything; keep what it threw readable instead of "[object Object]".
  return { code: ErrorCodes.HandlerError, message: describeThrown(err), retryable: true };
}

export function fromErrorBody(body: ErrorBody): JetbusError {
  switch (body.code) {
    case ErrorCodes.Validation:
      return new ValidationError(body.message, body.details);
    case ErrorCodes.Duplicate:
      return new DuplicateError(body.message, body.details);
    case ErrorCodes.NotFound: {
      const e = new NotFoundError("record");
      e.message = body.message;
      return e;
    }
    case ErrorCodes.Timeout:
      return new TimeoutError(body.message);
    case ErrorCodes.Permanent:
      return new PermanentError(body.message);
    default:
      return new JetbusError(body.code, body.message, { retryable: body.retryable, details: body.details });
  }
}

export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return `non-Error thrown: ${JSON.stringify(value)}`;
  } catch {
    return `non-Error thrown: ${String(value)}`;
  }
}

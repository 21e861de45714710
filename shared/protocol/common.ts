/**
 * @module
 * Building blocks shared by every protocol message: names, ids, durations, job options, error bodies.
 * Wire shapes are snake_case; durations are integer milliseconds; times are epoch milliseconds.
 */
import { Type, type Static } from "@sinclair/typebox";

export const JOB_TYPE_PATTERN = "^[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*$";
export const QUEUE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]*$";
export const ID_PATTERN = "^[A-Za-z0-9_-]+$";

export const JobType = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: JOB_TYPE_PATTERN,
  description: "Job type; a NATS subject suffix, so no spaces, '*', '>' or empty tokens.",
  errorMessage: "must be 1-128 characters of letters, digits, '_', ':', '-', with '.' only between tokens",
});
export const QueueName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: QUEUE_PATTERN,
  description: "Queue name: one subject token.",
  errorMessage: "must be 1-64 characters of letters, digits, '_' or '-', starting with a letter or digit",
});
export const Id = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: ID_PATTERN,
  errorMessage: "must be 1-128 characters of letters, digits, '_' or '-'",
});
export const Millis = Type.Integer({
  minimum: 0,
  description: "milliseconds",
  errorMessage: "must be a whole number of milliseconds >= 0",
});
export const EpochMillis = Type.Integer({ minimum: 0, description: "epoch milliseconds" });

export const JobOptionsWire = Type.Object(
  {
    delay_ms: Type.Optional(Millis),
    timeout_ms: Type.Optional(Millis),
    retry: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, errorMessage: "must be a whole number from 0 to 1000" }),
    ),
    backoff_ms: Type.Optional(Millis),
    unique_for_ms: Type.Optional(Millis),
  },
  { additionalProperties: false, description: "Absent options mean 0 (no delay, no timeout, no retry...)." },
);
export type JobOptionsWire = Static<typeof JobOptionsWire>;

export const ErrorBody = Type.Object(
  {
    code: Type.String({ minLength: 1 }),
    message: Type.String(),
    retryable: Type.Boolean(),
    details: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** A job as a client asks for it: the dispatcher fills in defaults and ids. */
export const JobRequest = Type.Object(
  {
    dispatch_id: Type.Optional(Id),
    type: JobType,
    queue: Type.Optional(QueueName),
    payload: Type.Optional(Type.Unknown({ description: "any JSON value; absent means null" })),
    options: Type.Optional(JobOptionsWire),
  },
  { additionalProperties: false },
);
export type JobRequest = Static<typeof JobRequest>;

export const TraceFields = {
  traceparent: Type.Optional(Type.String({ description: "W3C trace context of the producing span" })),
  tracestate: Type.Optional(Type.String()),
};

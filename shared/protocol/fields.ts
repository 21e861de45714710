/**
 * @module
 * The field types every protocol message is built from: job type, queue and id names, durations and times,
 * error bodies and trace context.
 * Wire shapes are snake_case; durations are integer milliseconds; times are epoch milliseconds.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ErrorCodes } from "./error-codes.ts";

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

/** `error-body.json`: the same shape, with the codes jetbus itself uses listed (a handler may add its own). */
export const ErrorBodyDocumented = Type.Object(
  {
    ...ErrorBody.properties,
    code: Type.String({
      minLength: 1,
      description: "branch on this, never on message; jetbus's own codes are listed in examples",
      examples: Object.values(ErrorCodes),
    }),
  },
  { additionalProperties: false },
);

export const TraceFields = {
  traceparent: Type.Optional(Type.String({ description: "W3C trace context of the producing span" })),
  tracestate: Type.Optional(Type.String()),
};

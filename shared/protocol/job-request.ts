/**
 * @module
 * A job as a client asks for it (`dispatch`, bulk, chain and batch members) and its options. The dispatcher
 * fills in the defaults and ids.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Id, JobType, Millis, QueueName } from "./fields.ts";

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

/** A job as a client asks for it: the dispatcher fills in defaults and ids. */
export const JobRequest = Type.Object(
  {
    dispatch_id: Type.Optional(Id),
    type: JobType,
    queue: Type.Optional(QueueName),
    payload: Type.Optional(Type.Unknown({ description: "any JSON value; absent means null" })),
    options: Type.Optional(JobOptionsWire),
    notify: Type.Optional(
      Type.Boolean({
        description:
          "false: nobody listens on jetbus.done.<dispatch_id>, so no done notice is sent for this job (its result is stored as always); absent means true",
      }),
    ),
  },
  { additionalProperties: false },
);
export type JobRequest = Static<typeof JobRequest>;

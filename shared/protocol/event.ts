/**
 * @module
 * Lifecycle events on `jetbus.events.<group>.<source>`, in a limits stream with bounded retention. One stored message
 * carries a batch of events (or of the facts they derive from, v2), so events cost no stored message per job. Positive facts have deterministic ids
 * and are emitted once per fact.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, ErrorBody, Id, JobType, QueueName, TraceFields } from "./fields.ts";
import { OutcomeEntry } from "./outcome.ts";
import { HopTiming } from "./timing.ts";

export const EVENT_KINDS = [
  "dispatch_started",
  "dispatch_succeeded",
  "dispatch_failed",
  "job_started",
  "job_succeeded",
  "job_failed",
  "job_retried",
  "job_dead_lettered",
  "chain_started",
  "chain_advanced",
  "chain_completed",
  "chain_failed",
  "batch_started",
  "batch_progressed",
  "batch_completed",
  "batch_failed",
  "batch_cancelled",
  "callback_started",
  "callback_succeeded",
  "callback_failed",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EventKindSchema = Type.Union(EVENT_KINDS.map((k) => Type.Literal(k)));

/**
 * Events are stored by group on `jetbus.events.<group>.<source>`, so an observer of a few kinds reads only their
 * groups' messages (`jetbus.events.>` still reads every event).
 */
export const EVENT_GROUPS = ["dispatch", "job", "workflow"] as const;
export type EventGroup = (typeof EVENT_GROUPS)[number];

export function eventGroup(kind: EventKind): EventGroup {
  switch (kind) {
    case "dispatch_started":
    case "dispatch_succeeded":
    case "dispatch_failed":
      return "dispatch";
    case "job_started":
    case "callback_started":
    case "job_succeeded":
    case "job_failed":
    case "job_retried":
    case "job_dead_lettered":
    case "callback_succeeded":
    case "callback_failed":
      return "job";
    default:
      return "workflow";
  }
}

export const BusEventWire = Type.Object({
  id: Type.String(),
  kind: EventKindSchema,
  at: EpochMillis,
  dispatch_id: Type.Optional(Type.String()),
  job_id: Type.Optional(Type.String()),
  chain_id: Type.Optional(Type.String()),
  batch_id: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  queue: Type.Optional(Type.String()),
  attempt: Type.Optional(Type.Integer({ minimum: 0 })),
  duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
  error: Type.Optional(ErrorBody),
  callback: Type.Optional(Type.String()),
  counts: Type.Optional(
    Type.Object({
      total: Type.Integer(),
      pending: Type.Integer(),
      processed: Type.Integer(),
      failed: Type.Integer(),
    }),
  ),
  timing: Type.Optional(HopTiming),
  ...TraceFields,
});
export type BusEventWire = Static<typeof BusEventWire>;

export const EventMessageV1 = Type.Object({ v: Type.Literal(1), events: Type.Array(BusEventWire) });

/** An accepted dispatch: readers derive its `dispatch_started` and `dispatch_succeeded` (`event-facts.ts`). */
export const DispatchFact = Type.Object({
  dispatch_id: Id,
  type: JobType,
  queue: QueueName,
  at: EpochMillis,
  ...TraceFields,
});
export type DispatchFact = Static<typeof DispatchFact>;

/**
 * An attempt of a job (an outcome entry without its result): readers derive its `job_started` and how it ended
 * (`job_succeeded`, `job_retried`, `job_failed` + `job_dead_lettered`, or the `callback_*` kinds).
 */
export const JobFact = Type.Omit(OutcomeEntry, ["result"]);
export type JobFact = Static<typeof JobFact>;

/**
 * Version 2 of the event message: the same events, or the facts they are derived from, a few times smaller than
 * spelled-out events. Publishers send job and dispatch facts this way; readers expand them (`event-facts.ts`).
 */
export const EventMessageV2 = Type.Object({
  v: Type.Literal(2),
  events: Type.Optional(Type.Array(BusEventWire)),
  jobs: Type.Optional(Type.Array(JobFact)),
  dispatched: Type.Optional(Type.Array(DispatchFact)),
});
export type EventMessageV2 = Static<typeof EventMessageV2>;

export const EventMessage = Type.Union([EventMessageV1, EventMessageV2]);
export type EventMessage = Static<typeof EventMessage>;

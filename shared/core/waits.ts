/**
 * @module
 * Where a job that must wait goes, and what a worker does with one that arrives early. Pure: the clock comes in.
 *
 * A wait of at most {@link HOLD_MAX_MS} goes straight to the jobs stream with its `not_before`, and the worker
 * that gets it holds it until then (the hold keeps its ack budget, never a handler slot). A longer wait is a
 * server-side schedule message that fires into the jobs stream {@link SCHEDULE_LEAD_MS} early, because the
 * server fires schedules on a ~250 ms tick; the worker holds the remainder. Either way a job starts within a
 * few milliseconds of its time, and no waiting job holds a consumer's budget for more than about a second.
 */

/** The longest a worker holds a job that arrived before its `not_before`. */
export const HOLD_MAX_MS = 1_000;

/** How much earlier than its time a schedule is set to fire (nats-server 2.15 fires 0–250 ms late). */
export const SCHEDULE_LEAD_MS = 300;

/** Where a job goes, given when it may start. */
export type Placement =
  | { kind: "ready" }
  /** on the jobs subject, `not_before` set: the receiving worker holds it */
  | { kind: "held"; notBefore: number }
  /** a schedule message that fires at `fireAt` (before `notBefore`, which stays in the envelope) */
  | { kind: "scheduled"; notBefore: number; fireAt: number };

export function placeJob(notBefore: number | undefined, now: number): Placement {
  if (notBefore === undefined || notBefore <= now) return { kind: "ready" };
  if (notBefore - now <= HOLD_MAX_MS) return { kind: "held", notBefore };
  return { kind: "scheduled", notBefore, fireAt: notBefore - SCHEDULE_LEAD_MS };
}

/** What a worker does with a job that may start at `notBefore`. */
export type Arrival = { kind: "run" } | { kind: "hold"; until: number } | { kind: "wait-again" };

/**
 * A job due now runs; one due within the hold limit is held until its time; one due
 * later (a producer that ignored {@link placeJob}, or an old v1 worker's park) waits again as a new message.
 */
export function onArrival(notBefore: number | undefined, now: number): Arrival {
  if (notBefore === undefined || notBefore <= now) return { kind: "run" };
  if (notBefore - now <= HOLD_MAX_MS) return { kind: "hold", until: notBefore };
  return { kind: "wait-again" };
}

/**
 * @module
 * Hop timing, a diagnostic: with `JETBUS_HOP_TIMING=1` services stamp when each hop of a job happened, so the
 * bench (`BENCH_JETBUS_DIAG=1`) can say where a dispatch's or a chain step's time goes. Off by default (the bytes
 * would cost throughput); readers must not depend on it. All times are epoch milliseconds of the stamping
 * process's clock.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis } from "./fields.ts";

export const HopTiming = Type.Object(
  {
    /** the request or outcome that led to this reached its service (dispatcher: the dispatch request) */
    received_at: Type.Optional(EpochMillis),
    /** what was published was confirmed stored (dispatcher: the job; worker: the outcome) */
    stored_at: Type.Optional(EpochMillis),
    /** the job envelope was built (the envelope's `enqueued_at`) */
    enqueued_at: Type.Optional(EpochMillis),
    /** the worker got the job's message */
    delivered_at: Type.Optional(EpochMillis),
    /** the handler started (an outcome's `started_at`, carried where only the timing goes) */
    started_at: Type.Optional(EpochMillis),
  },
  { description: "diagnostic hop times (JETBUS_HOP_TIMING=1); absent otherwise" },
);
export type HopTiming = Static<typeof HopTiming>;

/**
 * @module
 * Where a plain job's result is kept for `bus.wait`. A dispatch id made by jetbus begins with the time it was
 * made (`dsp_<11 hex ms><12 hex>`), so results are kept in batches: the coordinator writes the results of
 * each group of outcomes it handles as one message per (10-second window of dispatch time, one of 4 shards of
 * the id) on `jetbus.results.<window>.<shard>` in JETBUS_RESULTS, and a reader finds a result by reading that
 * one subject. A result then costs a share of a stored message instead of one of its own. A record bigger than
 * {@link BATCHED_RECORD_MAX_BYTES} (a large result or error), and any record of a dispatch id made otherwise
 * (by clients in other languages), is kept on its own in the `jetbus-results` bucket under the id, so one
 * big result never makes every reader of its subject read it.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ResultRecord } from "./outcome.ts";
import type { ResultRecord as ResultRecordValue } from "./schemas.ts";
import { check, parseJson } from "./validate.ts";

/** How much dispatch time one results subject covers. */
export const RESULT_WINDOW_MS = 10_000;

/** Shards per window: more would split each group's results into more, smaller messages. */
export const RESULT_SHARDS = 4;

/**
 * How far readers look back from a dispatch id's time (a client clock may run behind). A time-ordered id more
 * than this ahead of the coordinator's clock is kept on its own: readers might not reach its batch.
 */
export const CLOCK_SKEW_MS = 60_000;

/** A result record (as JSON, in UTF-8 bytes) up to this size is kept in a batch; a bigger one on its own. */
export const BATCHED_RECORD_MAX_BYTES = 2_048;

const TIME_ORDERED = /^dsp_([0-9a-f]{11})[0-9a-f]{11}([0-9a-f])$/;

/** When a time-ordered dispatch id was made (epoch ms), or null for any other id. */
export function dispatchTime(dispatchId: string): number | null {
  const m = TIME_ORDERED.exec(dispatchId);
  return m ? parseInt(m[1]!, 16) : null;
}

/**
 * The results subject of a time-ordered dispatch id, or null for any other id, and (given `now`) for an id
 * dated more than {@link CLOCK_SKEW_MS} ahead.
 */
export function resultSubject(dispatchId: string, now?: number): string | null {
  const m = TIME_ORDERED.exec(dispatchId);
  if (!m) return null;
  const at = parseInt(m[1]!, 16);
  if (now !== undefined && at > now + CLOCK_SKEW_MS) return null;
  const window = Math.floor(at / RESULT_WINDOW_MS);
  return `jetbus.results.${window}.${parseInt(m[2]!, 16) % RESULT_SHARDS}`;
}

/** One message on `jetbus.results.<window>.<shard>`: results in the order their outcomes were recorded. */
export const ResultBatch = Type.Object({
  v: Type.Literal(1),
  results: Type.Array(ResultRecord, { minItems: 1 }),
});
export type ResultBatch = Static<typeof ResultBatch>;

/**
 * Of several records of one job (an outcome reported twice, a dead letter replayed), the one `bus.wait` gives:
 * the latest replay's, and of those the first recorded.
 */
export function pickResult(records: readonly ResultRecord[]): ResultRecord | null {
  let best: ResultRecord | null = null;
  for (const r of records) if (!best || (r.replay ?? 0) > (best.replay ?? 0)) best = r;
  return best;
}

// Anyone can publish on the results subjects and keys: a stored value counts only when it checks out, and one
// that does not is skipped, never thrown (a reader goes on with the rest).

/** The records of one message stored on a results subject; none when it is not a valid batch. */
export function decodeResultBatch(data: Uint8Array): ResultRecordValue[] {
  const v = parseOrNull(data);
  return check(ResultBatch, v) ? v.results : [];
}

/** The record stored under a `jetbus-results` key; null when it is not a valid record. */
export function decodeResultRecord(data: Uint8Array): ResultRecordValue | null {
  const v = parseOrNull(data);
  return check(ResultRecord, v) ? v : null;
}

/** The records of a message from either place (a batch or a record on its own). */
export function recordsIn(data: Uint8Array): ResultRecordValue[] {
  const v = parseOrNull(data);
  if (check(ResultBatch, v)) return v.results;
  return check(ResultRecord, v) ? [v] : [];
}

function parseOrNull(data: Uint8Array): unknown {
  try {
    return parseJson(data, "stored result");
  } catch {
    return null;
  }
}

/**
 * @module
 * Reading the dead-letter stream through a filter: an ordered consumer whose filter subjects select the
 * queue, type and workflow on the server (`filterSubjects`), positioned at a sequence or a time, fetching
 * pages; every letter is checked against its schema (anyone may publish on `jetbus.dlq.>`) and against the
 * whole filter. `upToSeq` bounds a scan to the letters that existed when a count was confirmed.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { filterSubjects, matchesFilter, type DeadLetterFilter } from "../protocol/dead-letter-filter.ts";
import { DeadLetter as DeadLetterSchema, letterWorkflow } from "../protocol/dead-letter.ts";
import { STREAMS } from "../protocol/names.ts";
import type { DeadLetter } from "../protocol/schemas.ts";
import { check, parseJson } from "../protocol/validate.ts";
import { truncateText } from "../core/truncate.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";

export interface ScannedLetter {
  seq: number;
  subject: string;
  letter: DeadLetter;
  workflowId?: string;
  /** set when the stored message is not a dead letter at all: its text (shortened); `letter` is a stand-in */
  unreadable?: string;
}

export interface ScanOptions {
  /** start after this stream sequence (paging) */
  afterSeq?: number;
  /** stop after this stream sequence (a confirmed set) */
  upToSeq?: number;
  /** stop after this many matches */
  limit?: number;
  /**
   * also hand over stored messages that are not dead letters, as entries of their own (a listing shows them,
   * so garbage never hides; counts and bulk actions leave them out). They match a filter of queue and times only.
   */
  withUnreadable?: boolean;
}

export interface ScanResult {
  letters: ScannedLetter[];
  /** the last sequence read: pass as `afterSeq` for the next page; null when the stream had no more */
  nextSeq: number | null;
  /** stored messages that are not dead letters (bad JSON, wrong shape): skipped */
  unreadable: number;
}

const PAGE = 256;
/** How long after its failed_at a letter may reach the stream (a writer's clock, a reconnect). */
const STORE_LAG_MS = 60_000;

export function decodeLetter(seq: number, subject: string, data: Uint8Array): ScannedLetter | null {
  let v: unknown;
  try {
    v = parseJson(data, "dead letter");
  } catch {
    return null;
  }
  if (!check(DeadLetterSchema, v)) return null;
  // The envelope is what gets replayed: a subject naming another queue, type or workflow is a forgery.
  const owner = letterWorkflow(subject, v);
  return owner ? { seq, subject, letter: v, ...owner } : null;
}

/** How much of a message that is not a dead letter a listing shows. */
const UNREADABLE_SHOWN_BYTES = 4 * 1024;

/** A stored message that is not a dead letter, as an entry: its text, and a stand-in letter saying what it is. */
export function unreadableLetter(
  seq: number,
  subject: string,
  data: Uint8Array,
  storedAt: number,
): ScannedLetter {
  return {
    seq,
    subject,
    unreadable: truncateText(new TextDecoder().decode(data), UNREADABLE_SHOWN_BYTES),
    letter: {
      v: 1,
      reason: "malformed",
      source_subject: subject,
      error: {
        code: ErrorCodes.Malformed,
        message: `message ${seq} on ${subject} is not a dead letter`,
        retryable: false,
      },
      attempts: 0,
      failed_at: storedAt,
    },
  };
}

const unreadableMatches = (f: DeadLetterFilter, s: ScannedLetter): boolean =>
  f.type === undefined &&
  f.reason === undefined &&
  f.batch === undefined &&
  matchesFilter(f, { queue: s.subject.split(".")[2], failedAt: s.letter.failed_at, reason: "malformed" });

export function letterMatches(f: DeadLetterFilter, s: ScannedLetter): boolean {
  return matchesFilter(f, {
    // An undecodable message's letter has no envelope: its queue is its subject's (`_invalid`).
    ...(s.letter.envelope
      ? { queue: s.letter.envelope.queue, jobType: s.letter.envelope.type }
      : { queue: s.subject.split(".")[2] }),
    reason: s.letter.reason,
    ...(s.workflowId ? { workflowId: s.workflowId } : {}),
    failedAt: s.letter.failed_at,
  });
}

/** What a walk reports: the letters are the visitor's to keep or not. */
export interface WalkResult {
  /** the last sequence read when the walk stopped early (a page's next `afterSeq`); null when it read all */
  nextSeq: number | null;
  unreadable: number;
}

/**
 * Reads the matching letters in stream order and hands each to `visit`, keeping none: a count or a bulk
 * action costs one page of messages in memory, however many letters match. `visit` returns true to stop.
 */
export async function walkDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  filter: DeadLetterFilter,
  opts: Omit<ScanOptions, "limit">,
  visit: (s: ScannedLetter) => boolean | void,
): Promise<WalkResult> {
  const si = await jsm.streams.info(STREAMS.deadLetters);
  const out: WalkResult = { nextSeq: null, unreadable: 0 };
  const last = Math.min(si.state.last_seq, opts.upToSeq ?? Number.POSITIVE_INFINITY);
  if (si.state.messages === 0 || (opts.afterSeq ?? 0) >= last) return out;
  const position =
    opts.afterSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.afterSeq + 1 }
      : filter.since !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(filter.since).toISOString() }
        : { deliver_policy: DeliverPolicy.All };
  const consumer = await js.consumers.get(STREAMS.deadLetters, {
    filter_subjects: filterSubjects(filter),
    ...position,
  });
  try {
    if ((await consumer.info(true)).num_pending === 0) return out;
    for (;;) {
      let pending = 0;
      let read = 0;
      const page = await consumer.fetch({ max_messages: PAGE, expires: 1_000 });
      for await (const m of page) {
        read++;
        pending = m.info.pending;
        if (m.seq > last) return { ...out, nextSeq: null };
        const s = decodeLetter(m.seq, m.subject, m.data);
        if (!s) out.unreadable++;
        const entry =
          s ??
          (opts.withUnreadable
            ? unreadableLetter(m.seq, m.subject, m.data, Math.floor(m.info.timestampNanos / 1e6))
            : null);
        if (
          entry &&
          (s ? letterMatches(filter, s) : unreadableMatches(filter, entry)) &&
          visit(entry) === true
        )
          return { ...out, nextSeq: m.seq < last && pending > 0 ? m.seq : null };
        // Stored well past `until`, stop: by the server's stored time, which a writer cannot set, not the
        // letter's failed_at (one forged far-future letter would hide every later one).
        if (filter.until !== undefined && m.info.timestampNanos / 1e6 > filter.until + STORE_LAG_MS)
          return { ...out, nextSeq: null };
        if (pending === 0) break;
      }
      if (read === 0 || pending === 0) return { ...out, nextSeq: null };
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/** A page: the first `limit` matching letters (all of them without a limit: only for small sets). */
export async function scanDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  filter: DeadLetterFilter,
  opts: ScanOptions = {},
): Promise<ScanResult> {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const letters: ScannedLetter[] = [];
  const walk = {
    ...(opts.withUnreadable ? { withUnreadable: true } : {}),
    ...(opts.afterSeq !== undefined ? { afterSeq: opts.afterSeq } : {}),
    ...(opts.upToSeq !== undefined ? { upToSeq: opts.upToSeq } : {}),
  };
  const r = await walkDeadLetters(js, jsm, filter, walk, (s) => letters.push(s) >= limit);
  return { letters, ...r };
}

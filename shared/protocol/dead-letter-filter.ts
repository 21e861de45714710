/**
 * @module
 * The one dead-letter filter of the console and the CLI (`jetbus dlq … --filter`): parsed from `key=value`
 * text or query fields, turned into the server-side filter subjects that select most of it, and checked
 * exactly against each letter (a type with dots, the reason and the time are known only from the body).
 * Pure: the caller brings the letters.
 */
import { DeadLetterReason } from "./dead-letter.ts";
import { ID_PATTERN, JOB_TYPE_PATTERN, QUEUE_PATTERN } from "./fields.ts";
import { deadLetterSelect } from "./subjects.ts";

export const DEAD_LETTER_REASONS = DeadLetterReason.anyOf.map((l) => l.const);
export type DeadLetterReasonName = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetterFilter {
  queue?: string;
  type?: string;
  reason?: DeadLetterReasonName;
  /** a batch's (or a chain's) id: its letters carry it as a subject token */
  batch?: string;
  /** epoch ms, inclusive: failed at or after */
  since?: number;
  /** epoch ms, exclusive: failed before */
  until?: number;
}

/** What the filter reads of a letter (a `DeadLetterInfo`-like view, wire names already mapped). */
export interface FilterableLetter {
  queue?: string;
  jobType?: string;
  reason: string;
  workflowId?: string;
  failedAt: number;
}

/** The reserved queue token of letters nobody could decode (`jetbus.dlq._invalid.<source>`). */
export const INVALID_QUEUE = "_invalid";

export const FILTER_KEYS = ["queue", "type", "reason", "batch", "since", "until"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

const patterns: Partial<Record<FilterKey, RegExp>> = {
  queue: new RegExp(QUEUE_PATTERN),
  type: new RegExp(JOB_TYPE_PATTERN),
  batch: new RegExp(ID_PATTERN),
};

/** The clock and calendar, brought by the shell (`systemTimes()`): the core reads neither itself. */
export interface Times {
  now: number;
  /** an ISO date or time as epoch ms, NaN when it is not one (`Date.parse`) */
  parseIso(text: string): number;
  /** epoch ms as text (`toISOString`) */
  format(ms: number): string;
}

/** A time as epoch ms, an ISO date or time, or `-<n>s|m|h|d` (that long before now). */
function parseTime(text: string, t: Times): number | null {
  const rel = /^-(\d+)([smhd])$/.exec(text);
  if (rel) return t.now - Number(rel[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!]!;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const ms = t.parseIso(text);
  return Number.isNaN(ms) ? null : ms;
}

export type FilterParse = { ok: true; filter: DeadLetterFilter } | { ok: false; errors: string[] };

/** Fields by name (a URL's query, parsed flags); empty values are absent. Reports every bad field at once. */
export function parseFilterFields(fields: Record<string, string | undefined>, times: Times): FilterParse {
  const filter: DeadLetterFilter = {};
  const errors: string[] = [];
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw?.trim();
    if (!value) continue;
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      errors.push(`unknown filter ${JSON.stringify(key)} (use ${FILTER_KEYS.join(", ")})`);
      continue;
    }
    const k = key as FilterKey;
    if (k === "since" || k === "until") {
      const t = parseTime(value, times);
      if (t === null) errors.push(`${k}=${JSON.stringify(value)} is not a time (ISO, epoch ms or -30m)`);
      else filter[k] = t;
    } else if (k === "reason") {
      if ((DEAD_LETTER_REASONS as readonly string[]).includes(value))
        filter.reason = value as DeadLetterReasonName;
      else errors.push(`reason=${JSON.stringify(value)} is not one of ${DEAD_LETTER_REASONS.join(", ")}`);
    } else if (!patterns[k]!.test(value) && !(k === "queue" && value === INVALID_QUEUE))
      errors.push(`${k}=${JSON.stringify(value)} is not a valid ${k}`);
    else filter[k] = value;
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until)
    errors.push("since must be before until");
  return errors.length ? { ok: false, errors } : { ok: true, filter };
}

/** `queue=emails,reason=exhausted,since=-1h`: the CLI's `--filter` text. */
export function parseFilterText(text: string, times: Times): FilterParse {
  const fields: Record<string, string> = {};
  const errors: string[] = [];
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq <= 0) errors.push(`${JSON.stringify(part)} is not key=value`);
    else fields[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  const parsed = parseFilterFields(fields, times);
  if (errors.length) return { ok: false, errors: [...errors, ...(parsed.ok ? [] : parsed.errors)] };
  return parsed;
}

/**
 * The filter as fields again, with its times as epoch ms: what a count hands back for the confirmed action,
 * so a relative time (`until=-2s`) is resolved once, at the count, and cannot move before the confirm.
 */
export function filterFields(f: DeadLetterFilter): Record<string, string> {
  return Object.fromEntries(
    FILTER_KEYS.flatMap((k) => (f[k] === undefined ? [] : [[k, String(f[k])]])),
  ) as Record<string, string>;
}

/** Whether fields name their times as epoch ms only (a resolved filter, as `filterFields` gives). */
export function hasAbsoluteTimes(fields: Record<string, string | undefined>): boolean {
  return (["since", "until"] as const).every(
    (k) => !fields[k]?.trim() || /^\d{10,}$/.test(fields[k]!.trim()),
  );
}

/** The server-side selection: the consumer's filter subjects. */
export function filterSubjects(f: DeadLetterFilter): string[] {
  return deadLetterSelect({
    ...(f.queue ? { queue: f.queue } : {}),
    ...(f.type ? { type: f.type } : {}),
    ...(f.batch ? { workflowId: f.batch } : {}),
  });
}

export function matchesFilter(f: DeadLetterFilter, d: FilterableLetter): boolean {
  if (f.queue !== undefined && d.queue !== f.queue) return false;
  if (f.type !== undefined && d.jobType !== f.type) return false;
  if (f.reason !== undefined && d.reason !== f.reason) return false;
  if (f.batch !== undefined && d.workflowId !== f.batch) return false;
  if (f.since !== undefined && d.failedAt < f.since) return false;
  if (f.until !== undefined && d.failedAt >= f.until) return false;
  return true;
}

/** The filter in words, for a confirmation ("12 dead letters of queue=emails reason=exhausted"). */
export function describeFilter(f: DeadLetterFilter, times: Pick<Times, "format">): string {
  const parts = FILTER_KEYS.flatMap((k) => {
    const v = f[k];
    if (v === undefined) return [];
    return [`${k}=${k === "since" || k === "until" ? times.format(v as number) : String(v)}`];
  });
  return parts.length ? parts.join(" ") : "(all)";
}

/**
 * @module
 * One stored dead letter as `bus.deadLetters` shows it. Anyone may publish on `jetbus.dlq.*`, so each message
 * is validated: one that is not a dead letter shows as an entry of reason `unreadable` (with its text), counted
 * and logged once, and never hides the real dead letters around it.
 */
import { truncateText } from "../core/truncate.ts";
import { DeadLetter as DeadLetterSchema } from "../protocol/dead-letter.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { fromErrorBody, JetbusError } from "../protocol/errors.ts";
import type { DeadLetter } from "../protocol/schemas.ts";
import { check, parseJson } from "../protocol/validate.ts";
import { metrics } from "../telemetry/metrics.ts";
import type { DeadLetterInfo } from "./types.ts";

/** How much of an unreadable entry's text is shown. */
const RAW_SHOWN_BYTES = 4 * 1024;

const decoder = new TextDecoder();

export function deadLetterInfo(seq: number, subject: string, data: Uint8Array): DeadLetterInfo {
  let value: unknown;
  try {
    value = parseJson(data, "dead letter");
  } catch {
    return unreadable(seq, subject, data, "not JSON");
  }
  if (!check(DeadLetterSchema, value)) return unreadable(seq, subject, data, "not a dead letter");
  return info(seq, subject, value);
}

function unreadable(seq: number, subject: string, data: Uint8Array, why: string): DeadLetterInfo {
  metrics.invalidMessages.inc({
    source: "dead_letters",
    reason: why === "not JSON" ? "undecodable" : "schema",
  });
  return {
    seq,
    reason: "unreadable",
    subject,
    sourceSubject: subject,
    raw: truncateText(decoder.decode(data), RAW_SHOWN_BYTES),
    error: new JetbusError(ErrorCodes.Malformed, `message ${seq} on ${subject} is ${why}`),
    attempts: 0,
    failedAt: new Date(0),
  };
}

function info(seq: number, subject: string, d: DeadLetter): DeadLetterInfo {
  const out: DeadLetterInfo = {
    seq,
    reason: d.reason,
    subject,
    sourceSubject: d.source_subject,
    ...(d.raw !== undefined ? { raw: d.raw } : {}),
    error: fromErrorBody(d.error),
    attempts: d.attempts,
    failedAt: new Date(d.failed_at),
  };
  if (d.envelope) {
    out.jobType = d.envelope.type;
    out.queue = d.envelope.queue;
    out.dispatchId = d.envelope.dispatch_id;
    out.jobId = d.envelope.job_id;
    out.payload = d.envelope.payload ?? null;
  }
  return out;
}

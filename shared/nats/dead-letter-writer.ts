/**
 * @module
 * Writing dead letters: the envelope (or the raw bytes it could not decode), the error and the attempts used,
 * on `jetbus.dlq.<queue>.<type>` (with `@<workflow id>` before the type for a chain's or batch's job). The msg id comes from the source message, so a crash between the dead-letter
 * write and the ack does not write it twice.
 */
import { createHash } from "node:crypto";
import type { PulledMsg } from "./pulled-msg.ts";
import { isSizeRefusal } from "./publish-failure.ts";
import { truncateError, truncateText } from "../core/truncate.ts";
import { BUDGETS, byteLength, messageBudget } from "../protocol/budgets.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import type {
  DeadLetter,
  DeadLetterReason,
  ErrorBody,
  JobEnvelope,
  OutcomeEntry,
} from "../protocol/schemas.ts";
import { envelopeWorkflowId } from "../protocol/dead-letter.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "./publisher.ts";

const decoder = new TextDecoder();

/** the text kept of a message nobody can read (bytes, marker included) */
const RAW_BYTES = 2 * BUDGETS.deadLetterErrorBytes;

/** What a dead letter may take: the server's max_payload and the dead-letter stream's limit, less headroom. */
const budgetOf = (publisher: JetStreamPublisher): number =>
  messageBudget(publisher.maxPayload, publisher.deadLetterMaxBytes);

/** The bytes a dead letter's error may take beside its envelope. */
function errorRoom(publisher: JetStreamPublisher, env: JobEnvelope): number {
  const room = budgetOf(publisher) - byteLength(JSON.stringify(env)) - 1024;
  return Math.max(1024, Math.min(BUDGETS.deadLetterErrorBytes, room));
}

export async function deadLetter(
  publisher: JetStreamPublisher,
  m: PulledMsg,
  env: JobEnvelope,
  reason: DeadLetterReason,
  error: ErrorBody,
  attempts: number,
): Promise<void> {
  const entry: DeadLetter = {
    v: 1,
    reason,
    envelope: env,
    source_subject: m.subject,
    // In full up to the dead-letter budget (the outcome and the workflow keep a shorter copy), and never so
    // long that the dead letter passes the server's max_payload beside its envelope.
    error: truncateError(error, errorRoom(publisher, env)),
    attempts,
    failed_at: Date.now(),
  };
  await publisher.publish(
    subjects.deadLetter(env.queue, env.type, envelopeWorkflowId(env)),
    encodeMessage(entry),
    {
      msgId: `dlq-${m.info.stream}-${m.seq}`,
    },
  );
}

/**
 * A dead letter keeping `text` as `raw`, cut until the ENCODED letter fits the budget (JSON escaping can make
 * text up to 6× longer: NUL bytes, control characters). If the server still refuses it for its size, it is
 * written without `raw`, its byte count and sha256 in the error's details: a dead letter is always written.
 */
async function publishWithRaw(
  publisher: JetStreamPublisher,
  subject: string,
  msgId: string,
  letter: Omit<DeadLetter, "raw">,
  text: string,
): Promise<void> {
  const budget = budgetOf(publisher);
  const base = {
    ...letter,
    error: truncateError(letter.error, Math.min(BUDGETS.deadLetterErrorBytes, Math.floor(budget / 4))),
  };
  let keep = Math.min(RAW_BYTES, budget);
  let data = encodeMessage({ ...base, raw: truncateText(text, keep) });
  for (let i = 0; i < 8 && data.length > budget && keep > 64; i++) {
    keep = Math.floor((keep * budget) / data.length) - 64;
    data = encodeMessage({ ...base, raw: truncateText(text, Math.max(0, keep)) });
  }
  const withoutRaw = (): Uint8Array => {
    const details = {
      raw_bytes: byteLength(text),
      raw_sha256: createHash("sha256").update(text).digest("hex"),
      ...(base.error.details === undefined ? {} : { error_details: base.error.details }),
    };
    return encodeMessage({
      ...base,
      error: truncateError({ ...base.error, details }, Math.floor(budget / 4)),
    });
  };
  if (data.length > budget) data = withoutRaw();
  try {
    await publisher.publish(subject, data, { msgId });
  } catch (err) {
    if (!isSizeRefusal(err)) throw err;
    await publisher.publish(subject, withoutRaw(), { msgId });
  }
}

/** A stored message nobody can read: keep its text and say why, so it can be inspected and nothing is lost. */
export async function deadLetterRaw(
  publisher: JetStreamPublisher,
  m: PulledMsg,
  error: ErrorBody,
  source: string,
): Promise<void> {
  await publishWithRaw(
    publisher,
    subjects.invalidDeadLetter(source),
    `dlq-${m.info.stream}-${m.seq}`,
    {
      v: 1,
      reason: "malformed",
      source_subject: m.subject,
      error,
      attempts: m.info.deliveryCount,
      failed_at: Date.now(),
    },
    decoder.decode(m.data),
  );
}

/**
 * An outcome entry the coordinator refused (it can never be true: see core/refusal.ts). It is kept as text
 * under `jetbus.dlq._invalid.outcomes`, so an operator sees what was sent, and nothing counts it.
 */
export async function deadLetterRefused(
  publisher: JetStreamPublisher,
  m: PulledMsg,
  entry: OutcomeEntry,
  reason: string,
): Promise<void> {
  await publishWithRaw(
    publisher,
    subjects.invalidDeadLetter("outcomes"),
    `dlq-${m.info.stream}-${m.seq}-${entry.job_id}`,
    {
      v: 1,
      reason: "outcome_refused",
      source_subject: m.subject,
      error: { code: ErrorCodes.OutcomeRefused, message: reason, retryable: false },
      attempts: entry.attempt,
      failed_at: Date.now(),
    },
    JSON.stringify(entry),
  );
}

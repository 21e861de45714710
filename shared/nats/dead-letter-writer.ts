/**
 * @module
 * Writing dead letters: the envelope (or the raw bytes it could not decode), the error and the attempts used,
 * on `jetbus.dlq.<queue>.<type>` (with `@<workflow id>` before the type for a chain's or batch's job). The msg id comes from the source message, so a crash between the dead-letter
 * write and the ack does not write it twice.
 */
import type { PulledMsg } from "./pulled-msg.ts";
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

/** The bytes a dead letter's error may take beside its envelope. */
function errorRoom(publisher: JetStreamPublisher, env: JobEnvelope): number {
  const room = messageBudget(publisher.maxPayload) - byteLength(JSON.stringify(env)) - 1024;
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

/** A stored message nobody can read: keep its text and say why, so it can be inspected and nothing is lost. */
export async function deadLetterRaw(
  publisher: JetStreamPublisher,
  m: PulledMsg,
  error: ErrorBody,
  source: string,
): Promise<void> {
  const entry: DeadLetter = {
    v: 1,
    reason: "malformed",
    raw: truncateText(decoder.decode(m.data), RAW_BYTES),
    source_subject: m.subject,
    error,
    attempts: m.info.deliveryCount,
    failed_at: Date.now(),
  };
  await publisher.publish(subjects.invalidDeadLetter(source), encodeMessage(entry), {
    msgId: `dlq-${m.info.stream}-${m.seq}`,
  });
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
  const record: DeadLetter = {
    v: 1,
    reason: "outcome_refused",
    raw: truncateText(JSON.stringify(entry), RAW_BYTES),
    source_subject: m.subject,
    error: { code: ErrorCodes.OutcomeRefused, message: reason, retryable: false },
    attempts: entry.attempt,
    failed_at: Date.now(),
  };
  await publisher.publish(subjects.invalidDeadLetter("outcomes"), encodeMessage(record), {
    msgId: `dlq-${m.info.stream}-${m.seq}-${entry.job_id}`,
  });
}

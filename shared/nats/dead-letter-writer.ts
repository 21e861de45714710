/**
 * @module
 * Writing dead letters: the envelope (or the raw bytes it could not decode), the error and the attempts used,
 * on `jetbus.dlq.<queue>.<type>` (with `@<workflow id>` before the type for a chain's or batch's job). The msg id comes from the source message, so a crash between the dead-letter
 * write and the ack does not write it twice.
 */
import type { PulledMsg } from "./pulled-msg.ts";
import type { DeadLetter, DeadLetterReason, ErrorBody, JobEnvelope } from "../protocol/schemas.ts";
import { envelopeWorkflowId } from "../protocol/dead-letter.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "./publisher.ts";

const decoder = new TextDecoder();

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
    error,
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
    raw: decoder.decode(m.data).slice(0, 512 * 1024),
    source_subject: m.subject,
    error,
    attempts: m.info.deliveryCount,
    failed_at: Date.now(),
  };
  await publisher.publish(subjects.invalidDeadLetter(source), encodeMessage(entry), {
    msgId: `dlq-${m.info.stream}-${m.seq}`,
  });
}

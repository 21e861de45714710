/**
 * @module
 * Errors of {@link JetStreamPublisher}. `code` follows nats.js's `JetStreamApiError`: the JetStream
 * `err_code` number (0 when the server gave none), `status` the HTTP-like status. `retryable` says whether the
 * same publish (same `Nats-Msg-Id`) may succeed later; callers branch on the class or `code`, never the message.
 */

/** JetStream `err_code`s a publish can meet on nats-server 2.9.10 (checked by test/nats/publisher.test.ts). */
export const PublishErrorCodes = {
  /** A `max_msg_size` limit, or a payload too large for the stream. */
  MessageSizeExceeded: 10054,
  /** `Nats-Expected-Stream` names another stream. */
  StreamNameMismatch: 10060,
  /** `Nats-Expected-Last-Msg-Id` did not match. */
  WrongLastMsgId: 10070,
  /** `Nats-Expected-Last-Sequence` / `Nats-Expected-Last-Subject-Sequence` did not match. */
  WrongLastSequence: 10071,
  /** Stream at `max_msgs` with `discard: new`. */
  MaxMessagesExceeded: 10077,
  /** Stream at `max_bytes` with `discard: new`. */
  MaxBytesExceeded: 10047,
  /** Stream at `max_msgs_per_subject` with `discard: new` + `discard_new_per_subject` (2.9.10: not enforced). */
  MaxMessagesPerSubjectExceeded: 10078,
} as const;

/** The server refused the message: a JetStream API error in the PubAck, or an unexpected status. */
export class JetStreamPublishError extends Error {
  readonly code: number;
  readonly status: number;
  readonly description: string;
  readonly retryable: boolean = false;
  constructor(code: number, status: number, description: string) {
    super(`JetStream publish rejected (${code}): ${description}`);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.description = description;
  }
}

/**
 * No stream answered: no stream binds the subject, or (in a cluster) the stream has no leader yet.
 * The latter heals within seconds, so it is retried before it is reported.
 */
export class NoStreamError extends JetStreamPublishError {
  override readonly retryable = true;
  readonly attempts: number;
  constructor(subject: string, attempts: number) {
    super(0, 503, `no stream answered for "${subject}" after ${attempts} attempt(s) (no responders)`);
    this.attempts = attempts;
  }
}

/** No PubAck within the time-out, after every retry. The message may or may not be stored. */
export class PublishTimeoutError extends JetStreamPublishError {
  override readonly retryable = true;
  readonly attempts: number;
  constructor(subject: string, attempts: number, timeoutMs: number) {
    super(0, 408, `no PubAck for "${subject}" within ${timeoutMs} ms, ${attempts} attempt(s)`);
    this.attempts = attempts;
  }
}

/** The publisher (or its connection) was closed before the PubAck arrived. */
export class PublisherClosedError extends JetStreamPublishError {
  override readonly retryable = true;
  constructor(reason = "publisher closed") {
    super(0, 0, reason);
  }
}

/**
 * @module
 * Error codes travel over the wire as `{code, message, retryable, details}`; receivers branch on `code`,
 * never on the message.
 */
export const ErrorCodes = {
  /** The request or job does not match the protocol schema (missing type, wrong field types, bad names). */
  Validation: "VALIDATION",
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  /** A `uniqueFor` claim on the same (queue, type, payload) is still live. */
  Duplicate: "DUPLICATE",
  /** The jobs stream is at its configured limit: the dispatch is rejected, never silently dropped. */
  QueueFull: "QUEUE_FULL",
  NotFound: "NOT_FOUND",
  Timeout: "TIMEOUT",
  Permanent: "PERMANENT",
  /** A handler threw (or rejected with) something that is not a JetbusError. */
  HandlerError: "HANDLER_ERROR",
  NoHandler: "NO_HANDLER",
  /** No dispatcher answered, or a stream had no leader: try again later. */
  Unavailable: "UNAVAILABLE",
  Internal: "INTERNAL",
  Cancelled: "CANCELLED",
  /** Every attempt ended with its worker dying mid-run. */
  WorkerDied: "WORKER_DIED",
  /** A stored message could not be decoded; it was dead-lettered with its raw bytes. */
  Malformed: "MALFORMED",
  /** Control flow: the job is put back for later without using an attempt. */
  Released: "RELEASED",
  RateLimited: "RATE_LIMITED",
  Overlapping: "OVERLAPPING",
  /** A workflow member's message is gone, or no live worker serves its type past the deadline. */
  MemberLost: "MEMBER_LOST",
  NoWorker: "NO_WORKER",
  CreationInterrupted: "CREATION_INTERRUPTED",
  ShuttingDown: "SHUTTING_DOWN",
  /** A service's environment has bad keys (every one is listed). */
  Config: "CONFIG",
  /** A stream or bucket lacks what this version needs (e.g. per-key TTL): run `jetbus init --apply`. */
  TopologyOutdated: "TOPOLOGY_OUTDATED",
  /** A revision-checked write lost to another writer (retried internally; surfaces only after many tries). */
  Conflict: "CONFLICT",
  /** The nats-server is older than jetbus's floor (2.12), or than a feature that was asked for needs. */
  UnsupportedServer: "UNSUPPORTED_SERVER",
  /** NATS refused the connection's credentials (user/password, token, nkey, `.creds`). */
  Unauthorized: "UNAUTHORIZED",
  /** The TLS handshake with NATS failed: an untrusted server certificate, or a client certificate it refused. */
  Tls: "TLS",
  /** The NATS user's permissions do not allow this publish, subscription or JetStream call. */
  PermissionDenied: "PERMISSION_DENIED",
  /** A stream, bucket or consumer is missing and this NATS user may not create it (an operator provisions it). */
  NotProvisioned: "NOT_PROVISIONED",
  /** A job's result is over `JETBUS_MAX_RESULT_BYTES`, or its outcome fits no message: that job fails, alone. */
  ResultTooLarge: "RESULT_TOO_LARGE",
  /** An outcome names a member outside its workflow, another member's job id, or an attempt past the retries. */
  OutcomeRefused: "OUTCOME_REFUSED",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

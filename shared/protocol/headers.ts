/**
 * @module
 * The NATS headers jetbus reads and writes besides the W3C trace context (`traceparent`, `tracestate`) and
 * `Nats-Msg-Id`.
 */
export const HEADERS = {
  /**
   * On a job message whose envelope has `not_before`: the same epoch milliseconds, so a worker can hold an early
   * job without decoding its body first. The envelope field is the authority; the header is a copy.
   */
  notBefore: "Jetbus-Not-Before",
  /** `@at <RFC 3339 time>`: when the server fires a schedule message (nats-server 2.12+). */
  schedule: "Nats-Schedule",
  /** The subject a fired schedule is published to (a subject of the same stream). */
  scheduleTarget: "Nats-Schedule-Target",
  /**
   * Set by the server (never by a client) on a message a schedule fired: the schedule's own subject. The server
   * checks only that a schedule's target lies in its stream, not that its publisher may publish there, so a
   * worker reads this to refuse a job scheduled from another queue's subjects.
   */
  scheduler: "Nats-Scheduler",
} as const;

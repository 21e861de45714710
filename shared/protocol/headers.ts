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
} as const;

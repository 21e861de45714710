/**
 * @module
 * Events that do not come from a workflow transition (dispatch and job facts) are batched into few stored
 * messages: whatever accumulates while one publish is in flight goes out in the next, up to `maxPerMessage`.
 * So events never add a stored message per job under load, and add no latency when idle.
 */
import { nuid } from "@nats-io/transport-node";
import type { BusEventWire } from "../protocol/schemas.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "./publisher.ts";

export class EventBatcher {
  private buffer: BusEventWire[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly subject: string,
    private readonly onError: (err: unknown) => void,
    private readonly maxPerMessage = 500,
  ) {}

  add(events: readonly BusEventWire[]): void {
    if (events.length === 0) return;
    for (const e of events) this.buffer.push(e);
    this.flushing ??= this.drain();
  }

  /** Publishes one message with a caller-chosen msg id (events derived 1:1 from a stored message). */
  publishWithId(events: readonly BusEventWire[], msgId: string): Promise<unknown> {
    return this.publisher.publish(this.subject, encodeMessage({ v: 1, events }), { msgId });
  }

  private async drain(): Promise<void> {
    // Let the current burst of synchronous adds land in the same message.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.maxPerMessage);
        try {
          await this.publisher.publish(this.subject, encodeMessage({ v: 1, events: batch }), {
            msgId: nuid.next(),
          });
        } catch (err) {
          this.onError(err);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}

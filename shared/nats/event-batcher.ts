/**
 * @module
 * Events are batched into few stored messages: whatever accumulates while one publish is in flight goes out in
 * the next, up to `maxPerMessage`, one message per event group (`jetbus.events.<group>.<source>`). So events never add a stored message per job (or per chain step) under
 * load, and add no latency when idle. Every event has an id (deterministic for facts), and observers drop a
 * repeated id, so a batch republished after a crash never shows a fact twice.
 */
import { nuid } from "@nats-io/transport-node";
import { eventGroup, type EventGroup } from "../protocol/event.ts";
import type { BusEventWire } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "./publisher.ts";

interface Waiting {
  events: readonly BusEventWire[];
  done: (stored: boolean) => void;
}

export class EventBatcher {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly publisher: JetStreamPublisher,
    /** the publishing process, the last token of the subjects */
    private readonly source: string,
    private readonly onError: (err: unknown) => void,
    private readonly maxPerMessage = 500,
  ) {}

  /** Resolves true once the events are stored, false if storing them failed (reported through onError). */
  add(events: readonly BusEventWire[]): Promise<boolean> {
    if (events.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((done) => {
      this.queue.push({ events, done });
      this.flushing ??= this.drain();
    });
  }

  /** Publishes them with a caller-chosen msg id (events derived 1:1 from a stored message), a message a group. */
  publishWithId(events: readonly BusEventWire[], msgId: string): Promise<unknown> {
    return Promise.all(
      [...byGroup(events)].map(([group, list]) =>
        this.publisher.publish(subjects.events(group, this.source), encodeMessage({ v: 1, events: list }), {
          msgId: `${msgId}.${group}`,
        }),
      ),
    );
  }

  private async drain(): Promise<void> {
    // Let the current burst of synchronous adds land in the same message.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        // Take the whole queue at once (shift() per entry walks the array each time: quadratic under load).
        const taken = this.queue;
        this.queue = [];
        let i = 0;
        while (i < taken.length) {
          const batch: Waiting[] = [];
          const events: BusEventWire[] = [];
          while (
            i < taken.length &&
            (batch.length === 0 || events.length + taken[i]!.events.length <= this.maxPerMessage)
          ) {
            const w = taken[i++]!;
            batch.push(w);
            for (const e of w.events) events.push(e);
          }
          await this.publishBatch(batch, events);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async publishBatch(batch: Waiting[], events: BusEventWire[]): Promise<void> {
    let stored = true;
    try {
      await Promise.all(
        [...byGroup(events)].map(([group, list]) =>
          this.publisher.publish(subjects.events(group, this.source), encodeMessage({ v: 1, events: list }), {
            msgId: nuid.next(),
          }),
        ),
      );
    } catch (err) {
      stored = false;
      this.onError(err);
    }
    for (const w of batch) w.done(stored);
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}

function byGroup(events: readonly BusEventWire[]): Map<EventGroup, BusEventWire[]> {
  const out = new Map<EventGroup, BusEventWire[]>();
  for (const e of events) {
    const g = eventGroup(e.kind);
    let list = out.get(g);
    if (!list) out.set(g, (list = []));
    list.push(e);
  }
  return out;
}

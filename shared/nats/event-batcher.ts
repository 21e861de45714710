/**
 * @module
 * Events are batched into few stored messages, one per event group (`jetbus.events.<group>.<source>`): whatever
 * accumulates while one publish is in flight goes out in the next, up to `maxPerMessage` items. So events never
 * add a stored message per job (or per chain step) under load, and add no latency when idle. Dispatches and job
 * attempts travel as the facts their events derive from (event messages v2, `event-facts.ts`), a few times
 * smaller than the events spelled out. Every event has an id (deterministic for facts), and observers drop a
 * repeated id, so a batch republished after a crash never shows a fact twice.
 */
import { nuid } from "@nats-io/transport-node";
import { byteLength, messageBudget, packBySize } from "../protocol/budgets.ts";
import { eventGroup, type DispatchFact, type EventGroup, type JobFact } from "../protocol/event.ts";
import type { BusEventWire, EventMessage } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "./publisher.ts";

interface Waiting {
  events: readonly BusEventWire[];
  dispatched: readonly DispatchFact[];
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
    /** bytes of events one message may carry (see `messageBudget`) */
    private readonly maxBytes = messageBudget(publisher.maxPayload),
  ) {}

  /** Resolves true once the events are stored, false if storing them failed (reported through onError). */
  add(events: readonly BusEventWire[]): Promise<boolean> {
    return this.enqueue(events, []);
  }

  /** Accepted dispatches, as facts (their `dispatch_started` and `dispatch_succeeded` are derived). */
  addDispatched(facts: readonly DispatchFact[]): Promise<boolean> {
    return this.enqueue([], facts);
  }

  private enqueue(events: readonly BusEventWire[], dispatched: readonly DispatchFact[]): Promise<boolean> {
    if (events.length === 0 && dispatched.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((done) => {
      this.queue.push({ events, dispatched, done });
      this.flushing ??= this.drain();
    });
  }

  /**
   * The attempts of one stored outcome message, as job facts, under a msg id from that message (a redelivered
   * outcome message stores nothing new).
   */
  publishJobs(jobs: readonly JobFact[], msgId: string): Promise<unknown> {
    if (jobs.length === 0) return Promise.resolve();
    return this.publisher.publish(subjects.events("job", this.source), encodeMessage({ v: 2, jobs }), {
      msgId: `${msgId}.job`,
    });
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
          const dispatched: DispatchFact[] = [];
          const size = (w: Waiting) => w.events.length + w.dispatched.length;
          while (
            i < taken.length &&
            (batch.length === 0 || events.length + dispatched.length + size(taken[i]!) <= this.maxPerMessage)
          ) {
            const w = taken[i++]!;
            batch.push(w);
            for (const e of w.events) events.push(e);
            for (const d of w.dispatched) dispatched.push(d);
          }
          await this.publishBatch(batch, events, dispatched);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async publishBatch(batch: Waiting[], events: BusEventWire[], dispatched: DispatchFact[]) {
    // Events are packed by bytes too (each may carry an error of up to 8 KiB); dispatch facts are small and
    // bounded by their fields, so the count limit keeps them under budget.
    const messages: [EventGroup, EventMessage][] = [...byGroup(events)].flatMap(([group, list]) =>
      packBySize(list, eventBytes, this.maxBytes).packs.map((pack): [EventGroup, EventMessage] => [
        group,
        { v: 1, events: pack },
      ]),
    );
    if (dispatched.length > 0) messages.push(["dispatch", { v: 2, dispatched }]);
    let stored = true;
    try {
      await Promise.all(
        messages.map(([group, m]) =>
          this.publisher.publish(subjects.events(group, this.source), encodeMessage(m), {
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

/** An event's size, measured only when it may be large (most are a few hundred bytes). */
const eventBytes = (e: BusEventWire): number => (e.error ? byteLength(JSON.stringify(e)) : 512);

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

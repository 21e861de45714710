/**
 * @module
 * `bus.observe(fn)`: an ordered consumer on the events stream (new events, or a replay from a sequence or a
 * time), on the subjects of the event groups asked for, each stored message unpacked into its events. One observer's error never stops the stream or the
 * other observers (`multiObserver`).
 */
import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import { fromErrorBody } from "../protocol/errors.ts";
import { STREAMS } from "../protocol/names.ts";
import { eventsOf } from "../protocol/event-facts.ts";
import type { BusEventWire } from "../protocol/schemas.ts";
import { eventGroup, EventMessage as EventMessageSchema } from "../protocol/event.ts";
import { STREAM_SUBJECTS, subjects } from "../protocol/subjects.ts";
import { check, parseJson } from "../protocol/validate.ts";
import type { Logger } from "../telemetry/logger.ts";
import { RecentSet } from "../workflow/recent-set.ts";
import type { BusEvent, Observer, ObserveOptions, Subscription } from "./types.ts";

/** How many event ids an observer remembers, and for how long, to drop repeats. */
export const SEEN: Record<"workflow" | "other", { entries: number; maxAgeMs: number }> = {
  workflow: { entries: 100_000, maxAgeMs: 24 * 3600_000 },
  other: { entries: 100_000, maxAgeMs: 3600_000 },
};

export function toBusEvent(e: BusEventWire, seq: number): BusEvent {
  const out: BusEvent = { id: e.id, kind: e.kind, at: new Date(e.at), seq };
  if (e.dispatch_id) out.dispatchId = e.dispatch_id;
  if (e.job_id) out.jobId = e.job_id;
  if (e.chain_id) out.chainId = e.chain_id;
  if (e.batch_id) out.batchId = e.batch_id;
  if (e.type) out.jobType = e.type;
  if (e.queue) out.queue = e.queue;
  if (e.attempt !== undefined) out.attempt = e.attempt;
  if (e.duration_ms !== undefined) out.durationMs = e.duration_ms;
  if (e.error) out.error = fromErrorBody(e.error);
  if (e.callback) out.callback = e.callback;
  if (e.counts) out.counts = e.counts;
  if (e.traceparent) out.traceparent = e.traceparent;
  if (e.timing) {
    const t: NonNullable<BusEvent["timing"]> = {};
    if (e.timing.enqueued_at !== undefined) t.enqueuedAt = e.timing.enqueued_at;
    if (e.timing.delivered_at !== undefined) t.deliveredAt = e.timing.delivered_at;
    if (e.timing.started_at !== undefined) t.startedAt = e.timing.started_at;
    out.timing = t;
  }
  return out;
}

/** Fans one event out to several observers; a throwing observer does not stop the others. */
export function multiObserver(...observers: Observer[]): Observer {
  return async (event) => {
    for (const o of observers) {
      try {
        await o(event);
      } catch {
        // isolated on purpose: one observer's failure is not the others' problem
      }
    }
  };
}

export function observeEvents(
  js: JetStreamClient,
  observer: Observer,
  opts: ObserveOptions,
  log: Logger,
  remember: typeof SEEN = SEEN,
): Subscription {
  let stopped = false;
  let live = false;
  let stopConsumer: (() => Promise<void>) | null = null;
  let markReady!: () => void;
  let failReady!: (err: unknown) => void;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    failReady = rej;
  });
  const kinds = opts.kinds ? new Set(opts.kinds) : null;
  // Events have deterministic ids; one published twice (a republish after a crash, a workflow's start told by
  // the dispatcher and the coordinator) is dropped here, so observers see it once. Workflow events are few and
  // their repeats can be hours apart; dispatch and job events are many and repeat within minutes: each kind has
  // its own memory, so a flood of job events cannot push out a workflow's.
  const seen = {
    workflow: new RecentSet(remember.workflow.entries, remember.workflow.maxAgeMs),
    other: new RecentSet(remember.other.entries, remember.other.maxAgeMs),
  };
  const done = (async () => {
    // Only the groups of the kinds asked for: an observer of job_succeeded never reads dispatch events.
    const groups = opts.kinds ? [...new Set(opts.kinds.map(eventGroup))] : null;
    const consumer = await js.consumers.get(STREAMS.events, {
      filter_subjects: groups ? groups.map(subjects.eventGroup) : STREAM_SUBJECTS.events,
      ...(opts.fromSeq
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.fromSeq }
        : opts.fromTime
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: opts.fromTime.toISOString() }
          : { deliver_policy: DeliverPolicy.New }),
    });
    const messages = await consumer.consume();
    stopConsumer = async () => {
      await messages.close();
    };
    live = true;
    markReady();
    for await (const m of messages) {
      if (stopped) break;
      let events: BusEventWire[];
      try {
        const batch = parseJson(m.data, "event message");
        if (!check(EventMessageSchema, batch)) throw new Error("not an event message of a known version");
        events = eventsOf(batch);
      } catch (err) {
        log.warn({ err: String(err), seq: m.seq }, "unreadable event message skipped");
        continue;
      }
      for (const e of events) {
        if (kinds && !kinds.has(e.kind)) continue;
        const at = Date.now();
        const memory = eventGroup(e.kind) === "workflow" ? seen.workflow : seen.other;
        if (memory.has(e.id, at)) continue;
        memory.add(e.id, at);
        try {
          await observer(toBusEvent(e, m.seq));
        } catch (err) {
          log.warn({ err: String(err), kind: e.kind }, "observer threw; continuing");
        }
      }
    }
  })().catch((err: unknown) => {
    failReady(err);
    // One that never started is told to its caller through `ready`, which may try again.
    if (live && !stopped) log.error({ err }, "event subscription ended");
  });
  return {
    ready,
    stop: async () => {
      stopped = true;
      await stopConsumer?.();
      await done;
    },
  };
}

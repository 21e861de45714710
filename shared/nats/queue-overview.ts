/**
 * @module
 * What is waiting where, and who serves it: per (queue, type), jobs stored ready and delayed (the waiting-jobs
 * counter's pending count, plus parks and fired schedules in transit), the consumer's
 * pending and in-flight counts (num_pending + num_ack_pending is the true depth: a
 * restarted replica can keep acked work-queue messages, so the stream's own count overstates it) and the live
 * workers serving it. Used by `jetbus queues` and by the coordinator's metrics.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { STREAMS } from "../protocol/names.ts";
import { parseJobSubject, STREAM_SUBJECTS } from "../protocol/subjects.ts";
import type { WorkerRecord } from "../protocol/schemas.ts";

export interface QueueRow {
  queue: string;
  type: string;
  ready: number;
  delayed: number;
  /** delivered to a worker and not yet acked */
  inFlight: number;
  workers: number;
  /** a durable consumer exists: some worker registered this (queue, type) at some point */
  hasConsumer: boolean;
  /** the consumer's pull state: pull requests waiting at the server (a polling worker, foreign ones too) */
  pullRequests: number;
  /** stored and not yet delivered (the consumer's num_pending) */
  lag: number;
  /** deliveries that finished (delivered minus still in flight): a rate is its change over time */
  finished: number;
  /** paused with the server's consumer pause, until this time (epoch ms), else null */
  pausedUntil: number | null;
  /** the consumer's name (what a pause acts on) */
  consumer: string | null;
}

async function subjectCounts(
  jsm: JetStreamManager,
  stream: string,
  filter = ">",
): Promise<Record<string, number>> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return info.state.subjects ?? {};
}

/** Waiting jobs per (queue, type) subject key: each waits on its own subject, so counted by consumers. */
async function waitingCounts(jsm: JetStreamManager): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const [parks, due] = await Promise.all([
    subjectCounts(jsm, STREAMS.delayed, STREAM_SUBJECTS.delayed),
    subjectCounts(jsm, STREAMS.delayed, STREAM_SUBJECTS.due),
  ]);
  for (const [subject, n] of [...Object.entries(parks), ...Object.entries(due)]) out[subject] = n;
  for await (const c of jsm.consumers.list(STREAMS.delayed)) {
    const filter = c.config.filter_subject;
    if (filter?.startsWith("jetbus.wait.")) out[filter] = (out[filter] ?? 0) + c.num_pending;
  }
  return out;
}

/** The live workers as of `now`: a one-off listing (`listWorkers`) or a watched view (`WorkerDirectory`). */
export type LiveWorkers = (now: number) => WorkerRecord[] | Promise<WorkerRecord[]>;

export async function queueOverview(
  jsm: JetStreamManager,
  workers: LiveWorkers,
  now = Date.now(),
): Promise<QueueRow[]> {
  const rows = new Map<string, QueueRow>();
  const row = (queue: string, type: string) => {
    const k = `${queue}\u0000${type}`;
    let r = rows.get(k);
    if (!r)
      rows.set(
        k,
        (r = {
          queue,
          type,
          ready: 0,
          delayed: 0,
          inFlight: 0,
          workers: 0,
          hasConsumer: false,
          pullRequests: 0,
          lag: 0,
          finished: 0,
          pausedUntil: null,
          consumer: null,
        }),
      );
    return r;
  };
  const [ready, delayed, live] = await Promise.all([
    subjectCounts(jsm, STREAMS.jobs),
    waitingCounts(jsm),
    workers(now),
  ]);
  for (const [subject, n] of Object.entries(ready)) {
    const p = parseJobSubject(subject);
    if (p) row(p.queue, p.type).ready += n;
  }
  for (const [subject, n] of Object.entries(delayed)) {
    const p = parseJobSubject(subject);
    if (p) row(p.queue, p.type).delayed += n;
  }
  for await (const c of jsm.consumers.list(STREAMS.jobs)) {
    const p = c.config.filter_subject ? parseJobSubject(c.config.filter_subject) : null;
    if (!p) continue;
    const r = row(p.queue, p.type);
    r.inFlight = c.num_ack_pending;
    r.hasConsumer = true;
    r.consumer = c.name;
    r.pullRequests = c.num_waiting;
    r.lag = c.num_pending;
    r.finished = Math.max(0, c.delivered.consumer_seq - c.num_ack_pending);
    r.pausedUntil = c.paused && c.config.pause_until ? Date.parse(c.config.pause_until) : null;
    r.ready = Math.max(r.ready - c.num_ack_pending, c.num_pending);
  }
  for (const w of live) for (const s of w.serves) row(s.queue, s.type).workers++;
  return [...rows.values()].sort((a, b) => a.queue.localeCompare(b.queue) || a.type.localeCompare(b.type));
}

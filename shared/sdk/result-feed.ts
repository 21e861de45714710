/**
 * @module
 * Results caught as the coordinator stores them. A job dispatched without a done notice (`notify: false`, as
 * `dispatchMany` sends its jobs: nobody watches them) is announced by nothing but its stored record, so a
 * `bus.wait` for it listens on the subjects that record is stored on: its id's results subject (a core
 * subscription sees every message stored there) and its own key in `jetbus-results` (a record too big for a
 * batch, or an id not made by jetbus). Waits on one subject share one subscription.
 *
 * Anyone can publish on these subjects: a message counts only when it is a valid result batch or record, and a
 * record only for the id it names.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { BUCKETS, keys } from "../protocol/names.ts";
import { ResultRecord as ResultRecordSchema } from "../protocol/outcome.ts";
import { ResultBatch, resultSubject } from "../protocol/results.ts";
import type { ResultRecord } from "../protocol/schemas.ts";
import { check, parseJson } from "../protocol/validate.ts";

type OnRecord = (record: ResultRecord) => void;

interface Feed {
  sub: Subscription;
  /** by dispatch id: the waits listening */
  waits: Map<string, Set<OnRecord>>;
}

/** The records in a message stored on a results subject or a `jetbus-results` key; none for anything else. */
export function recordsIn(data: Uint8Array): ResultRecord[] {
  let value: unknown;
  try {
    value = parseJson(data, "stored result");
  } catch {
    return [];
  }
  if (check(ResultBatch, value)) return value.results;
  return check(ResultRecordSchema, value) ? [value] : [];
}

export class ResultFeed {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `onRecord` with each record stored for `id` from now on, until the returned function is called. */
  follow(id: string, onRecord: OnRecord): () => void {
    const batched = resultSubject(id, this.now());
    const own = `$KV.${BUCKETS.results}.${keys.result(id)}`;
    const subjects = batched ? [batched, own] : [own];
    for (const s of subjects) this.listen(s, id, onRecord);
    return () => {
      for (const s of subjects) this.unlisten(s, id, onRecord);
    };
  }

  private listen(subject: string, id: string, onRecord: OnRecord): void {
    let feed = this.feeds.get(subject);
    if (!feed) {
      const waits = new Map<string, Set<OnRecord>>();
      const sub = this.nc.subscribe(subject, {
        callback: (err, m) => {
          if (err) return;
          for (const r of recordsIn(m.data)) for (const cb of waits.get(r.dispatch_id) ?? []) cb(r);
        },
      });
      this.feeds.set(subject, (feed = { sub, waits }));
    }
    let set = feed.waits.get(id);
    if (!set) feed.waits.set(id, (set = new Set()));
    set.add(onRecord);
  }

  private unlisten(subject: string, id: string, onRecord: OnRecord): void {
    const feed = this.feeds.get(subject);
    const set = feed?.waits.get(id);
    if (!feed || !set) return;
    set.delete(onRecord);
    if (set.size === 0) feed.waits.delete(id);
    if (feed.waits.size > 0) return;
    feed.sub.unsubscribe();
    this.feeds.delete(subject);
  }

  /** Subjects listened on now (for tests and metrics). */
  get size(): number {
    return this.feeds.size;
  }
}

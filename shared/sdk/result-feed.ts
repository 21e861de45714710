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
import { recordsIn, resultSubject } from "../protocol/results.ts";
import type { ResultRecord } from "../protocol/schemas.ts";
import { kvSubjects } from "../protocol/subjects.ts";

type OnRecord = (record: ResultRecord) => void;

interface Feed {
  sub: Subscription;
  /** by dispatch id: the waits listening */
  waits: Map<string, Set<OnRecord>>;
}

/**
 * Up to this many waits on a subject, a batch is searched for their ids before it is parsed. A results subject
 * carries a quarter of a 10 s window's results, nearly all for other waits: a few byte searches are far cheaper
 * than parsing and checking each batch, but one search per wait of thousands (waits after the fact) is not.
 */
const SEARCH_MAX_WAITS = 16;

/** Whether a stored message can hold a record of one of these ids. */
function mentionsAny(data: Uint8Array, ids: Iterable<string>): boolean {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (const id of ids) if (bytes.includes(id)) return true;
  return false;
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
    const own = kvSubjects.key(BUCKETS.results, keys.result(id));
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
          // A refused or closed subscription is dropped, so the next wait subscribes again; the waits on it
          // still have their reads (waiter.ts), and a permission error is counted on the connection.
          if (err) {
            if (this.feeds.get(subject)?.sub === sub) this.feeds.delete(subject);
            return;
          }
          if (waits.size <= SEARCH_MAX_WAITS && !mentionsAny(m.data, waits.keys())) return;
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

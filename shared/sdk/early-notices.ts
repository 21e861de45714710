/**
 * @module
 * Done notices caught from the moment of dispatch. A job often finishes before its caller gets the dispatch
 * reply and calls `bus.wait`; the worker's notice is then gone, and the waiter learns the outcome only from
 * the stored result, a hop later. So `bus.dispatch` subscribes to its job's `jetbus.done.<id>` before sending
 * the request and keeps the first valid notice for a while; `bus.wait` on that id takes it from here.
 *
 * Anyone can publish to a done subject: a notice is decoded on arrival, anything else is dropped, and what is
 * kept is bounded (one notice per watch, a total byte budget). A notice that does not fit is not kept; its
 * wait then reads the stored result, as it would without a watch.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeDoneNotice } from "../protocol/done-notice.ts";
import type { DoneNotice } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";

export interface EarlyNoticeLimits {
  /** how long a notice is kept for a `wait` that has not come yet */
  keepMs: number;
  /** dispatches watched at once at most; past it, waits fall back to reading the stored result */
  maxWatches: number;
  /** bytes of kept notices at most, over all watches */
  maxBytes: number;
}

const DEFAULT_LIMITS: EarlyNoticeLimits = { keepMs: 30_000, maxWatches: 10_000, maxBytes: 32 * 1024 * 1024 };

interface Watch {
  sub: Subscription;
  kept: { notice: DoneNotice; bytes: number } | null;
  waiters: ((n: DoneNotice) => void)[];
  timer: ReturnType<typeof setTimeout>;
  waiting: number;
}

/** The notices of one watched id, one per call of `next`; `done()` ends the wait. */
export interface NoticeFollower {
  next: () => Promise<DoneNotice>;
  done: () => void;
}

/** `id`'s done notices, decoded; anything else published there is dropped. */
export function subscribeDoneNotices(
  nc: NatsConnection,
  id: string,
  onNotice: (notice: DoneNotice, bytes: number) => void,
): Subscription {
  return nc.subscribe(subjects.done(id), {
    callback: (err, m) => {
      const notice = err ? null : decodeDoneNotice(m.data, id);
      if (notice) onNotice(notice, m.data.length);
    },
  });
}

export class EarlyNotices {
  private readonly watches = new Map<string, Watch>();
  private keptBytes = 0;
  private readonly limits: EarlyNoticeLimits;

  constructor(
    private readonly nc: NatsConnection,
    limits: Partial<EarlyNoticeLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes of notices kept now (for tests and metrics). */
  get bytesKept(): number {
    return this.keptBytes;
  }

  /** Starts catching `id`'s notices (call it before the dispatch request). */
  watch(id: string): void {
    if (this.watches.has(id) || this.watches.size >= this.limits.maxWatches) return;
    const w: Watch = {
      sub: subscribeDoneNotices(this.nc, id, (notice, bytes) => {
        const waiters = w.waiters.splice(0);
        for (const f of waiters) f(notice);
        if (waiters.length > 0 || w.kept) return;
        if (this.keptBytes + bytes > this.limits.maxBytes) return;
        w.kept = { notice, bytes };
        this.keptBytes += bytes;
      }),
      kept: null,
      waiters: [],
      timer: setTimeout(() => this.drop(id), this.limits.keepMs),
      waiting: 0,
    };
    w.timer.unref();
    this.watches.set(id, w);
  }

  /** Stops catching `id`'s notices unless a wait is using them. */
  drop(id: string): void {
    const w = this.watches.get(id);
    if (!w || w.waiting > 0) return;
    clearTimeout(w.timer);
    w.sub.unsubscribe();
    this.release(w);
    this.watches.delete(id);
  }

  /** The notices of a watched id (a kept one at once); null when `id` is not watched. */
  follow(id: string): NoticeFollower | null {
    const w = this.watches.get(id);
    if (!w) return null;
    w.waiting++;
    return {
      next: () => {
        const kept = w.kept;
        if (kept) {
          this.release(w);
          return Promise.resolve(kept.notice);
        }
        return new Promise((resolve) => w.waiters.push(resolve));
      },
      done: () => {
        w.waiting--;
        this.drop(id);
      },
    };
  }

  private release(w: Watch): void {
    if (!w.kept) return;
    this.keptBytes -= w.kept.bytes;
    w.kept = null;
  }
}

/**
 * @module
 * Done notices caught from the moment of dispatch. A job often finishes before its caller gets the dispatch
 * reply and calls `bus.wait`; the worker's notice is then gone, and the waiter learns the outcome only from
 * the stored result, a hop later. So `bus.dispatch` subscribes to its job's `jetbus.done.<id>` before sending
 * the request and keeps the first notice for a while; `bus.wait` on that id takes it from here.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { subjects } from "../protocol/subjects.ts";

interface Watch {
  sub: Subscription;
  notices: Uint8Array[];
  waiters: ((data: Uint8Array) => void)[];
  timer: ReturnType<typeof setTimeout>;
  waiting: number;
}

export class EarlyNotices {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly nc: NatsConnection,
    /** how long a notice is kept for a `wait` that has not come yet */
    private readonly keepMs = 30_000,
    /** dispatches watched at once at most; past it, waits fall back to reading the stored result */
    private readonly max = 10_000,
  ) {}

  /** Starts catching `id`'s notices (call it before the dispatch request). */
  watch(id: string): void {
    if (this.watches.has(id) || this.watches.size >= this.max) return;
    const w: Watch = {
      sub: this.nc.subscribe(subjects.done(id), {
        callback: (err, m) => {
          if (err) return;
          const waiters = w.waiters.splice(0);
          if (waiters.length === 0) w.notices.push(m.data);
          for (const f of waiters) f(m.data);
        },
      }),
      notices: [],
      waiters: [],
      timer: setTimeout(() => this.drop(id), this.keepMs),
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
    this.watches.delete(id);
  }

  /**
   * The notices of a watched id, one per call of `next` (a caught one at once); null when `id` is not
   * watched. `done()` ends the wait.
   */
  follow(id: string): { next: () => Promise<Uint8Array>; done: () => void } | null {
    const w = this.watches.get(id);
    if (!w) return null;
    w.waiting++;
    return {
      next: () => {
        const caught = w.notices.shift();
        return caught ? Promise.resolve(caught) : new Promise((resolve) => w.waiters.push(resolve));
      },
      done: () => {
        w.waiting--;
        this.drop(id);
      },
    };
  }
}

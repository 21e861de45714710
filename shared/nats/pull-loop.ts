/**
 * @module
 * Pulling from a durable consumer with bounded buffering. `consume()` re-pulls on arrival whatever the
 * handlers' pace, so one process could hoard a slow type's jobs; this loop asks only for what it has room for
 * (`concurrency × groupSize + prefetch`, by hand-made pull requests: `pull-requests.ts`), keeps buffered messages
 * alive with `working()` while they wait, and
 * hands them to `handle` one by one (workers) or in groups (the coordinator). A message that may not start yet
 * (`startAt`) is held until then outside the slots: a held job never keeps a ready one from running. It survives
 * reconnects and re-creates its consumer if the server lost it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../telemetry/logger.ts";
import type { PulledMsg } from "./pulled-msg.ts";
import { PullRequests } from "./pull-requests.ts";

export interface PullLoopOptions {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  /** groups handled at once */
  concurrency: number;
  /** messages per handler call: 1 for jobs, hundreds for outcome groups */
  groupSize: number;
  /** extra messages fetched ahead of free slots */
  prefetch: number;
  /** consumer ack wait: buffered messages are kept alive well inside it */
  ackWaitMs: number;
  /** how long a pull request waits for messages that have not arrived yet @defaultValue 2_000 */
  expiresMs?: number;
  handle: (msgs: PulledMsg[]) => Promise<void>;
  /** re-create the consumer (the server lost it); called before the next request */
  recreate?: () => Promise<void>;
  /** when a message may be handed out (epoch ms); one due later is held until then, kept alive */
  startAt?: (m: PulledMsg) => number | undefined;
  /** fetching pauses while this many messages are held @defaultValue 10_000 */
  maxHeld?: number;
  log: Logger;
}

interface Buffered {
  m: PulledMsg;
  /** when it was last touched */
  at: number;
}

interface Held extends Buffered {
  due: number;
}

export class PullLoop {
  private buffer: Buffered[] = [];
  /** messages that may not start yet, earliest first */
  private held: Held[] = [];
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** the last arrival was a message to hold: the next request may take more than the free slots */
  private holdingRun = false;
  /** messages being handled, with when they were last touched */
  private readonly active = new Map<PulledMsg, number>();
  private running = 0;
  private stopped = false;
  private idle: (() => void) | null = null;
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private pulls: PullRequests | null = null;
  private recreating = false;
  private failures = 0;

  constructor(private readonly o: PullLoopOptions) {}

  start(): void {
    this.pulls = new PullRequests({
      nc: this.o.nc,
      stream: this.o.stream,
      consumer: this.o.consumer,
      expiresMs: this.o.expiresMs ?? 2_000,
      onMessage: (m) => this.arrive(m),
      onMissing: () => void this.consumerMissing(),
      onRefused: (code, description) =>
        this.o.log.warn(
          { consumer: this.o.consumer, code, description },
          "pull request refused by the consumer's limits; asking again later",
        ),
      onRoom: (afterMs) => {
        if (afterMs > 0) setTimeout(() => this.refill(), afterMs).unref();
        else this.refill();
      },
    });
    this.refill();
    this.keepAlive = setInterval(() => this.touch(), Math.max(100, Math.floor(this.o.ackWaitMs / 6)));
    this.keepAlive.unref();
  }

  get inFlight(): number {
    return this.running;
  }

  private capacity(): number {
    return this.o.concurrency * this.o.groupSize + this.o.prefetch;
  }

  private free(): number {
    return this.capacity() - this.buffer.length - this.running * this.o.groupSize;
  }

  /** Asks for the room there is (a quarter of the capacity at least, so pulls are not made one by one). */
  private refill(): void {
    const pulls = this.pulls;
    if (!pulls || this.stopped || this.recreating) return;
    const holdRoom = (this.o.maxHeld ?? 10_000) - this.held.length;
    if (holdRoom <= 0) return;
    const free = this.free() - pulls.owed;
    // Past a run of early messages the slots are still free, and a ready one may wait behind many more early
    // ones: take them in bigger pulls (the few ready ones this brings wait in the buffer for a slot).
    const want = this.holdingRun ? Math.max(free, Math.min(256, holdRoom) - pulls.owed) : free;
    if (want >= Math.max(1, Math.floor(this.capacity() / 4))) pulls.request(want);
  }

  private arrive(m: PulledMsg): void {
    const now = Date.now();
    const due = this.o.startAt?.(m);
    this.failures = 0;
    this.holdingRun = due !== undefined && due > now;
    if (this.holdingRun) this.hold({ m, at: now, due: due! });
    else this.buffer.push({ m, at: now });
    if (this.stopped) return;
    this.pump();
    if (this.holdingRun) this.refill();
  }

  private async consumerMissing(): Promise<void> {
    if (this.recreating || this.stopped) return;
    this.recreating = true;
    this.failures++;
    if (this.o.recreate) {
      this.o.log.warn({ consumer: this.o.consumer }, "consumer missing: re-creating it");
      await this.o
        .recreate()
        .catch((e: unknown) => this.o.log.error({ err: e }, "could not re-create consumer"));
    } else if (this.failures === 1 || this.failures % 20 === 0) {
      this.o.log.warn({ consumer: this.o.consumer, failures: this.failures }, "consumer missing; retrying");
    }
    setTimeout(
      () => {
        this.recreating = false;
        this.refill();
      },
      Math.min(100 * this.failures, 2_000),
    ).unref();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.o.concurrency && this.buffer.length > 0) {
      const group = this.buffer.splice(0, this.o.groupSize).map((b) => b.m);
      this.running++;
      for (const m of group) this.active.set(m, Date.now());
      void this.o
        .handle(group)
        .catch((err: unknown) => this.o.log.error({ err }, "message handler failed"))
        .finally(() => {
          for (const m of group) this.active.delete(m);
          this.running--;
          if (this.running === 0 && this.buffer.length === 0) this.idle?.();
          this.pump();
          this.refill();
        });
    }
  }

  private hold(h: Held): void {
    // Held waits are short (about a second at most), and usually arrive in time order: search from the end.
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.due > h.due) i--;
    this.held.splice(i, 0, h);
    if (i === 0) this.armHoldTimer();
  }

  private armHoldTimer(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    const first = this.held[0];
    if (!first || this.stopped) return;
    this.holdTimer = setTimeout(() => this.release(), Math.max(0, first.due - Date.now()));
  }

  /** Hands the held messages whose time has come to the slots. */
  private release(): void {
    const now = Date.now();
    let n = 0;
    while (n < this.held.length && this.held[n]!.due <= now) n++;
    for (const h of this.held.splice(0, n)) this.buffer.push({ m: h.m, at: h.at });
    this.armHoldTimer();
    this.pump();
    this.refill();
  }

  /**
   * Messages waiting in our buffer, and those being handled, are delivered as far as the server knows: one
   * timer keeps their ack timers fresh (instead of a timer per job). A handler that blocks the event loop
   * blocks this too, so the server redelivers its job elsewhere, as it should.
   */
  private touch(): void {
    const now = Date.now();
    const due = this.o.ackWaitMs / 3;
    for (const b of [...this.buffer, ...this.held]) {
      if (now - b.at > due) {
        b.m.working();
        b.at = now;
      }
    }
    for (const [m, at] of this.active) {
      if (now - at > due) {
        m.working();
        this.active.set(m, now);
      }
    }
  }

  /**
   * Stops fetching and hands back the messages that were buffered but never started (the caller releases
   * them); handlers already running go on until `idle()`.
   */
  stop(): PulledMsg[] {
    this.stopped = true;
    // The heartbeat keeps running: jobs still being handled during the drain must not be redelivered.
    return this.takeUnstarted();
  }

  /** Resolves when no handler is running (after `stop()`). */
  async idleOrTimeout(ms: number): Promise<boolean> {
    const done = (idle: boolean) => {
      if (this.keepAlive) clearInterval(this.keepAlive);
      return idle;
    };
    if (this.running === 0) return done(true);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(done(false)), ms);
      this.idle = () => {
        clearTimeout(t);
        resolve(done(true));
      };
    });
  }

  /** Messages that arrived after stop() (owed by earlier requests) are returned by the next call. */
  drainLate(): PulledMsg[] {
    return this.takeUnstarted();
  }

  private takeUnstarted(): PulledMsg[] {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    const out = [...this.buffer, ...this.held].map((b) => b.m);
    this.buffer = [];
    this.held = [];
    return out;
  }

  /** Resolves once the requests made before `stop()` have ended (what they owed arrived or expired). */
  async closed(): Promise<void> {
    await this.pulls?.settled();
    this.pulls?.close();
  }
}

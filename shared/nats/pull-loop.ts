/**
 * @module
 * Pulling from a durable consumer with bounded buffering. `consume()` re-pulls on arrival whatever the
 * handlers' pace, so one process could hoard a slow type's jobs; this loop fetches only what it has room for
 * (`concurrency × groupSize + prefetch`), keeps buffered messages alive with `working()` while they wait, and
 * hands them to `handle` one by one (workers) or in groups (the coordinator). A message that may not start yet
 * (`startAt`) is held until then outside the slots: a held job never keeps a ready one from running. It survives
 * reconnects and re-creates its consumer if the server lost it.
 */
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { delay } from "@nats-io/transport-node";
import type { Logger } from "../telemetry/logger.ts";

export interface PullLoopOptions {
  js: JetStreamClient;
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
  /** fetch expiry: how long a pull waits for messages that have not arrived yet */
  expiresMs?: number;
  handle: (msgs: JsMsg[]) => Promise<void>;
  /** re-create the consumer (the server lost it); called before the next fetch */
  recreate?: () => Promise<void>;
  /** when a message may be handed out (epoch ms); one due later is held until then, kept alive */
  startAt?: (m: JsMsg) => number | undefined;
  /** fetching pauses while this many messages are held @defaultValue 10_000 */
  maxHeld?: number;
  log: Logger;
}

interface Buffered {
  m: JsMsg;
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
  /** the last fetch brought only messages to hold: the next may take more than the free slots */
  private holdingRun = false;
  /** messages being handled, with when they were last touched */
  private readonly active = new Map<JsMsg, number>();
  private running = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private idle: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private consumer: Consumer | null = null;

  constructor(private readonly o: PullLoopOptions) {}

  start(): void {
    this.loop = this.fetchLoop();
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

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const want = this.free();
      if (
        want < Math.max(1, Math.floor(this.capacity() / 4)) ||
        this.held.length >= (this.o.maxHeld ?? 10_000)
      ) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      try {
        // Looked up once (a consumer info request) and reused; a failure drops it so the next pass looks again.
        this.consumer ??= await this.o.js.consumers.get(this.o.stream, this.o.consumer);
        const consumer = this.consumer;
        const batch = await consumer.fetch({ max_messages: want, expires: this.o.expiresMs ?? 5_000 });
        let got = 0;
        let held = 0;
        for await (const m of batch) {
          const now = Date.now();
          const due = this.o.startAt?.(m);
          got++;
          if (due !== undefined && due > now) {
            held++;
            this.hold({ m, at: now, due });
          } else this.buffer.push({ m, at: now });
          if (!this.stopped) this.pump();
        }
        this.holdingRun = got > 0 && held === got;
        failures = 0;
      } catch (err) {
        this.consumer = null;
        if (this.stopped) break;
        failures++;
        const code = (err as { code?: number | string }).code;
        if ((code === 10014 || code === 10059 || /not found/i.test(String(err))) && this.o.recreate) {
          this.o.log.warn(
            { err: String(err), consumer: this.o.consumer },
            "consumer missing: re-creating it",
          );
          await this.o
            .recreate()
            .catch((e: unknown) => this.o.log.error({ err: e }, "could not re-create consumer"));
        } else if (failures === 1 || failures % 20 === 0) {
          this.o.log.warn(
            { err: String(err), consumer: this.o.consumer, failures },
            "fetch failed; retrying",
          );
        }
        await delay(Math.min(100 * failures, 2_000));
      }
    }
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
          this.wakeFetch();
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
    this.wakeFetch();
  }

  private wakeFetch(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
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
  stop(): JsMsg[] {
    this.stopped = true;
    // The heartbeat keeps running: jobs still being handled during the drain must not be redelivered.
    this.wakeFetch();
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

  /** Messages that arrived after stop() (from the last fetch) are returned by the next call. */
  drainLate(): JsMsg[] {
    return this.takeUnstarted();
  }

  private takeUnstarted(): JsMsg[] {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    const out = [...this.buffer, ...this.held].map((b) => b.m);
    this.buffer = [];
    this.held = [];
    return out;
  }

  async closed(): Promise<void> {
    await this.loop;
  }
}

/**
 * @module
 * The worker runtime behind `bus.register` + `bus.startWorkers` and the worker service: one durable consumer
 * and one bounded pull loop per (queue, type) it serves, each with its own concurrency (a slow type never
 * blocks another), a cancel watcher, a registry heartbeat, and a graceful drain: stop pulling, let running
 * jobs finish within the drain timeout, release the rest to other workers without using an attempt.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { PulledMsg } from "../nats/pulled-msg.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { ValidationError } from "../protocol/errors.ts";
import { newId } from "../ids.ts";
import { JOB_TYPE_PATTERN, QUEUE_PATTERN } from "../protocol/fields.ts";
import { jobConsumerName, STREAMS } from "../protocol/names.ts";
import { JobEnvelope as JobEnvelopeSchema } from "../protocol/envelope.ts";
import { subjects } from "../protocol/subjects.ts";
import { check, parseJson } from "../protocol/validate.ts";
import type { Buckets } from "../nats/provision.ts";
import { ensureConsumer, liveAckWaitMs } from "../nats/provision.ts";
import { JobSender } from "../nats/job-sender.ts";
import { PullLoop } from "../nats/pull-loop.ts";
import { RecentSet } from "../workflow/recent-set.ts";
import { ensureWaitingConsumer, WaitingCounters } from "../nats/waiting-counters.ts";
import { HEADERS } from "../protocol/headers.ts";
import type { JetStreamPublisher } from "../nats/publisher.ts";
import { jobConsumerConfig, type TopologyConfig } from "../nats/topology.ts";
import type { Logger } from "../telemetry/logger.ts";
import { CancelWatcher } from "./cancel-watcher.ts";
import { fieldsFromHeaders } from "../telemetry/carrier.ts";
import { DeliveryProcessor, type Registration } from "./delivery.ts";
import { monitorEventLoop } from "./loop-monitor.ts";
import { compose, type Handler, type Middleware } from "./middleware.ts";
import type { JobContext } from "./context.ts";
import { messageBudget } from "../protocol/budgets.ts";
import { OutcomeReporter } from "./outcome-reporter.ts";
import { RegistryHeartbeat } from "./registry-heartbeat.ts";

/** The `not_before` a job message announces in its header (the envelope has it too). */
function notBeforeOf(m: PulledMsg): number | undefined {
  const v = Number(m.headers?.get(HEADERS.notBefore));
  return v > 0 ? v : undefined;
}

export interface RegisterOptions {
  /** handlers of this type running at once in this process */
  concurrency?: number;
  /** middleware for this type only, inside the bus-wide middleware */
  middleware?: Middleware[];
}

export interface WorkerHostOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  publisher: JetStreamPublisher;
  topology: TopologyConfig;
  log: Logger;
  /** queues this worker serves */
  queues: string[];
  concurrency: number;
  heartbeatMs?: number;
  maxResultBytes?: number;
  /** stamp hop times on outcomes (a diagnostic) */
  hopTiming?: boolean;
  workerId?: string;
  /** after an outcome is stored, before its job is acked (fault injection) */
  onOutcomeStored?: () => void;
}

export class WorkerHost {
  readonly workerId: string;
  private readonly registrations = new Map<string, Registration>();
  private readonly middleware: Middleware[] = [];
  private readonly loops = new Map<string, { loop: PullLoop; queue: string; type: string }>();
  private readonly abandoned = new WeakSet<PulledMsg>();
  private readonly running = new Set<PulledMsg>();
  /** stream sequences of the jobs this worker settled lately */
  private readonly settled = new RecentSet<number>(20_000, 3_600_000);
  private started = false;
  private cancels: CancelWatcher | null = null;
  private registry: RegistryHeartbeat | null = null;
  private reporter: OutcomeReporter | null = null;
  private processor: DeliveryProcessor | null = null;
  private stopLoopMonitor: (() => void) | null = null;
  private readonly sender: JobSender;

  constructor(private readonly o: WorkerHostOptions) {
    this.workerId = o.workerId ?? newId("wrk");
    const counters = new WaitingCounters(o.jsm, (err) =>
      o.log.warn({ err: String(err) }, "could not create a waiting-jobs counter"),
    );
    this.sender = new JobSender(o.publisher, { onScheduled: counters.note });
    for (const q of o.queues) {
      if (!new RegExp(QUEUE_PATTERN).test(q))
        throw new ValidationError(`queue name ${JSON.stringify(q)} is not valid`);
    }
  }

  register(type: string, handler: Handler, opts: RegisterOptions = {}): void {
    if (!new RegExp(JOB_TYPE_PATTERN).test(type) || type.length > 128) {
      throw new ValidationError(
        `job type ${JSON.stringify(type)} is not valid: letters, digits, '_', ':', '-', '.' between tokens`,
      );
    }
    if (typeof handler !== "function") throw new ValidationError(`handler for ${type} must be a function`);
    this.registrations.set(type, {
      type,
      handler,
      concurrency: opts.concurrency ?? this.o.concurrency,
      middleware: opts.middleware ?? [],
    });
    if (this.started)
      void this.startType(type).catch((err: unknown) =>
        this.o.log.error({ err, type }, "could not start consumer"),
      );
  }

  /** Queues and default concurrency, before start (from `startWorkers({ queues, concurrency })`). */
  configure(opts: { queues?: string[]; concurrency?: number }): void {
    if (this.started) throw new ValidationError("configure workers before they start");
    if (opts.queues) {
      for (const q of opts.queues) {
        if (!new RegExp(QUEUE_PATTERN).test(q))
          throw new ValidationError(`queue name ${JSON.stringify(q)} is not valid`);
      }
      this.o.queues = opts.queues;
    }
    if (opts.concurrency !== undefined) {
      if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
        throw new ValidationError("concurrency must be a whole number >= 1");
      for (const r of this.registrations.values())
        if (r.concurrency === this.o.concurrency) r.concurrency = opts.concurrency;
      this.o.concurrency = opts.concurrency;
    }
  }

  use(...mw: Middleware[]): void {
    this.middleware.push(...mw);
    this.chains = new WeakMap();
  }

  /** Each registration's middleware chain, composed once (and again after `use`). */
  private chains = new WeakMap<Registration, (ctx: JobContext) => Promise<unknown>>();
  private composed(reg: Registration): (ctx: JobContext) => Promise<unknown> {
    let run = this.chains.get(reg);
    if (!run) this.chains.set(reg, (run = compose([...this.middleware, ...reg.middleware], reg.handler)));
    return run;
  }

  get types(): string[] {
    return [...this.registrations.keys()];
  }

  async start(): Promise<void> {
    if (this.started) return;
    const { log } = this.o;
    this.cancels = new CancelWatcher(this.o.buckets.cancels, log);
    await this.cancels.start();
    this.reporter = new OutcomeReporter(
      this.o.publisher,
      subjects.outcomes(this.workerId),
      (err) => log.warn({ err: String(err) }, "outcome publish failed"),
      { maxBytes: messageBudget(this.o.nc.info?.max_payload, this.o.topology.maxMessageBytes) },
    );
    this.processor = new DeliveryProcessor({
      nc: this.o.nc,
      publisher: this.o.publisher,
      sender: this.sender,
      reporter: this.reporter,
      cancels: this.cancels,
      runtime: { locks: this.o.buckets.locks, limits: this.o.buckets.limits, now: Date.now },
      log,
      maxResultBytes: this.o.maxResultBytes ?? 256 * 1024,
      hopTiming: this.o.hopTiming ?? false,
      run: (reg) => this.composed(reg),
      registration: (t) => this.registrations.get(t),
      abandoned: (m) => this.abandoned.has(m),
      onOutcomeStored: this.o.onOutcomeStored ?? (() => undefined),
      results: { jsm: this.o.jsm, bucket: this.o.buckets.results },
      workflows: this.o.buckets.workflows,
    });
    this.started = true;
    for (const type of this.registrations.keys()) await this.startType(type);
    this.registry = new RegistryHeartbeat(
      this.o.buckets.workers,
      this.workerId,
      this.o.heartbeatMs ?? 5_000,
      () => this.serves(),
      log,
    );
    await this.registry.start();
    this.stopLoopMonitor = monitorEventLoop(log);
    log.info({ worker_id: this.workerId, queues: this.o.queues, types: this.types }, "worker started");
  }

  private serves() {
    return [...this.loops.values()].map(({ queue, type }) => ({
      queue,
      type,
      concurrency: this.registrations.get(type)?.concurrency ?? 1,
    }));
  }

  private async startType(type: string): Promise<void> {
    const reg = this.registrations.get(type)!;
    for (const queue of this.o.queues) {
      const key = `${queue}\u0000${type}`;
      if (this.loops.has(key)) continue;
      const durable = jobConsumerName(queue, type);
      const cfg = jobConsumerConfig(this.o.topology, durable, subjects.job(queue, type));
      const live = await ensureConsumer(this.o.jsm, STREAMS.jobs, cfg, this.o.log);
      await ensureWaitingConsumer(this.o.jsm, queue, type);
      const loop = new PullLoop({
        nc: this.o.nc,
        stream: STREAMS.jobs,
        consumer: durable,
        concurrency: reg.concurrency,
        groupSize: 1,
        // No prefetch: a job held in a buffer when its worker dies would come back as a redelivery and count as
        // an attempt although it never ran; only started jobs may count.
        prefetch: 0,
        ackWaitMs: liveAckWaitMs(live, this.o.topology.ackWaitMs),
        expiresMs: 2_000,
        handle: (msgs) => this.handle(msgs[0]!),
        // An early job (held or fired a little before its time) waits outside the slots, within the ack budget.
        startAt: notBeforeOf,
        maxHeld: this.o.topology.maxAckPending,
        recreate: async () => {
          await ensureConsumer(this.o.jsm, STREAMS.jobs, cfg, this.o.log);
        },
        log: this.o.log,
      });
      this.loops.set(key, { loop, queue, type });
      loop.start();
    }
    await this.registry?.beat().catch(() => undefined);
  }

  private async handle(m: PulledMsg): Promise<void> {
    // A redelivery of a message this worker is still handling, or has settled (its ack was lost, e.g. in a
    // NATS restart), is a duplicate, not a delivery whose worker died: never run or count it again.
    if (m.info.deliveryCount > 1) {
      if (this.settled.has(m.seq, Date.now())) {
        m.ack();
        return;
      }
      if ([...this.running].some((r) => r.seq === m.seq)) return;
    }
    this.running.add(m);
    try {
      await this.processor!.process(m);
      if (!this.processor!.takeHandedBack(m.seq)) this.settled.add(m.seq, Date.now());
    } catch (err) {
      // Settlement failed (NATS down, stream full): leave the message unacked; it is redelivered.
      this.o.log.warn(
        { err: String(err), subject: m.subject },
        "could not settle job; it will be redelivered",
      );
    } finally {
      this.running.delete(m);
    }
  }

  /** Drain: stop pulling, release what never started, wait for running jobs, release what is still running. */
  async stop(drainTimeoutMs: number): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const { log } = this.o;
    const loops = [...this.loops.values()].map((l) => l.loop);
    const unstarted = loops.flatMap((l) => l.stop());
    await this.releaseAll(unstarted, "not started");
    await Promise.all(loops.map((l) => l.closed()));
    await this.releaseAll(
      loops.flatMap((l) => l.drainLate()),
      "arrived during shutdown",
    );
    const finished = await Promise.all(loops.map((l) => l.idleOrTimeout(drainTimeoutMs)));
    if (finished.some((f) => !f)) {
      const still = [...this.running];
      log.warn({ jobs: still.length }, "drain timeout: releasing jobs still running to other workers");
      for (const m of still) this.abandoned.add(m);
      await this.releaseAll(still, "still running at drain timeout");
    }
    await this.reporter?.close();
    this.cancels?.stop();
    await this.registry?.stop();
    this.stopLoopMonitor?.();
    this.loops.clear();
    log.info({ worker_id: this.workerId }, "worker stopped");
  }

  private async releaseAll(msgs: PulledMsg[], why: string): Promise<void> {
    if (msgs.length === 0) return;
    this.o.log.info({ jobs: msgs.length, why }, "releasing jobs");
    await Promise.all(
      msgs.map(async (m) => {
        try {
          const value = parseJson(m.data, "job envelope");
          if (!check(JobEnvelopeSchema, value)) {
            m.nak();
            return;
          }
          const attempt = value.attempt + Math.max(0, m.info.deliveryCount - 1);
          await this.processor!.release(m, { ...value, attempt }, 0, fieldsFromHeaders(m.headers));
        } catch (err) {
          this.o.log.warn(
            { err: String(err) },
            "could not release job; it will be redelivered after the ack wait",
          );
        }
      }),
    );
  }

  get inFlight(): number {
    return this.running.size;
  }
}

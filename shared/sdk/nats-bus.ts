/**
 * @module
 * `connectBus()`: the Bus over NATS. Dispatching goes through the dispatcher service (request/reply);
 * `register` + `startWorkers` run a WorkerHost in this process; reads (`findChain`, `wait`, dead letters)
 * go straight to JetStream.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { workflowView } from "../core/views.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetbusError, NotFoundError } from "../protocol/errors.ts";
import { keyTtlMissingMessage } from "../nats/kv-ttl.ts";
import { newId } from "../ids.ts";
import { authOf, connectNats, type NatsAuth } from "../nats/connection.ts";
import { JobSender } from "../nats/job-sender.ts";
import { KvWorkflowStore } from "../nats/kv-workflow-store.ts";
import { pruneWorkflows } from "../workflow/prune.ts";
import { openBuckets, provisionTopology, type Buckets } from "../nats/provision.ts";
import { JetStreamPublisher } from "../nats/publisher.ts";
import { forgetResult } from "../nats/result-reader.ts";
import { requireSupportedServer, watchServerVersion } from "../nats/server-version.ts";
import { DEFAULT_TOPOLOGY, type TopologyConfig } from "../nats/topology.ts";
import { REQUEST_SUBJECTS } from "../protocol/subjects.ts";
import type { DispatchOk } from "../protocol/schemas.ts";
import { fromErrorBody } from "../protocol/errors.ts";
import { createLogger, type Logger } from "../telemetry/logger.ts";
import type { JobContext } from "../worker/context.ts";
import type { Middleware } from "../worker/middleware.ts";
import { WorkerHost, type RegisterOptions } from "../worker/worker-host.ts";
import { BatchBuilder, ChainBuilder } from "./builders.ts";
import { NatsDeadLetters } from "./dead-letters.ts";
import { observeEvents } from "./events.ts";
import { toJobRequest, type Job } from "./job.ts";
import { EarlyNotices } from "./early-notices.ts";
import { ResultFeed } from "./result-feed.ts";
import { Requester } from "./requester.ts";
import { BulkDispatcher } from "./bulk-dispatch.ts";
import type {
  Bus,
  DeadLetters,
  DispatchManyResult,
  DispatchResult,
  Observer,
  ObserveOptions,
  StartWorkersOptions,
  Subscription,
  WaitOptions,
  WaitOutcome,
} from "./types.ts";
import { waitForOutcome } from "./waiter.ts";
import { sendBatch, sendChain } from "./workflow-dispatch.ts";
import { batchInfo, chainInfo, type BatchInfo, type ChainInfo } from "../protocol/workflow-info.ts";

/**
 * Credentials (`user`/`pass`, `token`, `nkeySeedFile`, `credsFile`, `tls`) are those of {@link NatsAuth}; the
 * bus answers on `inboxPrefix` "_INBOX.client" unless told otherwise.
 */
export interface BusOptions extends NatsAuth {
  /** NATS servers: "host:port", a comma list or an array @defaultValue "127.0.0.1:4222" */
  servers?: string | string[];
  /** use an existing connection (not closed by shutdown) */
  connection?: NatsConnection;
  /** connection name shown in server monitoring @defaultValue "jetbus-client" */
  name?: string;
  /** queues this process's workers serve @defaultValue ["default"] */
  queues?: string[];
  /** handlers per type running at once @defaultValue 10 */
  concurrency?: number;
  /** dispatcher request time-out per try @defaultValue 10_000 */
  requestTimeoutMs?: number;
  /** how long `shutdown()` lets running jobs finish before releasing them @defaultValue 10_000 */
  drainTimeoutMs?: number;
  /**
   * Create missing streams and buckets. Existing ones are never changed: a difference from `topology` is
   * logged as drift (`jetbus init --apply` applies it), and buckets made by an older jetbus without per-key
   * TTL support make `connectBus` throw `TOPOLOGY_OUTDATED`. `false` opens the buckets without any check.
   * @defaultValue true
   */
  provision?: boolean;
  topology?: Partial<TopologyConfig>;
  middleware?: Middleware[];
  logger?: Logger;
}

export async function connectBus(opts: BusOptions = {}): Promise<Bus> {
  const log = opts.logger ?? createLogger("jetbus", process.env.LOG_LEVEL ?? "warn");
  const nc =
    opts.connection ??
    (await connectNats({
      servers: opts.servers ?? process.env.NATS_URL ?? "127.0.0.1:4222",
      name: opts.name ?? "jetbus-client",
      ...authOf(opts),
      inboxPrefix: opts.inboxPrefix ?? "_INBOX.client",
      onRetry: (err, attempt, hint) =>
        log.warn(
          { err: err.message, attempt, ...(hint ? { hint } : {}) },
          "cannot connect to NATS yet; retrying",
        ),
      onStatus: (type, data) => {
        if (type === "error") log.error({ err: String(data) }, "nats error");
      },
    }));
  try {
    requireSupportedServer(nc);
  } catch (err) {
    // Refused before anything is provisioned; a connection the caller handed us stays theirs to close.
    if (!opts.connection) await nc.close();
    throw err;
  }
  watchServerVersion(nc, (problem, version) => {
    if (problem) log.error({ code: problem.code, server_version: version }, problem.message);
    else log.info({ server_version: version }, "reconnected to a supported nats-server");
  });
  const topology = { ...DEFAULT_TOPOLOGY, ...opts.topology };
  const jsm = await jetstreamManager(nc);
  let buckets: Buckets;
  if (opts.provision === false) buckets = await openBuckets(nc);
  else {
    const p = await provisionTopology(nc, jsm, topology, log);
    if (p.withoutKeyTtl.length > 0) {
      if (!opts.connection) await nc.close();
      throw new JetbusError(ErrorCodes.TopologyOutdated, keyTtlMissingMessage(p.withoutKeyTtl));
    }
    buckets = p.buckets;
  }
  return new NatsBus(nc, jsm, buckets, topology, log, opts, !opts.connection);
}

export class NatsBus implements Bus {
  readonly deadLetters: DeadLetters;
  private readonly requester: Requester;
  private readonly bulk: BulkDispatcher;
  private readonly early: EarlyNotices;
  private readonly feed: ResultFeed;
  private readonly publisher: JetStreamPublisher;
  private readonly sender: JobSender;
  private readonly worker: WorkerHost;
  private readonly subscriptions = new Set<Subscription>();
  private readonly store: KvWorkflowStore;

  constructor(
    readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly buckets: Buckets,
    topology: TopologyConfig,
    private readonly log: Logger,
    private readonly opts: BusOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.requester = new Requester(nc, opts.requestTimeoutMs ?? 10_000);
    this.bulk = new BulkDispatcher(this.requester, () => this.maxPayload());
    this.early = new EarlyNotices(nc);
    this.feed = new ResultFeed(nc);
    this.publisher = new JetStreamPublisher(nc);
    this.sender = new JobSender(this.publisher);
    this.store = new KvWorkflowStore(buckets.workflows);
    this.worker = new WorkerHost({
      nc,
      js: jetstream(nc),
      jsm,
      buckets,
      publisher: this.publisher,
      topology,
      log,
      queues: opts.queues ?? ["default"],
      concurrency: opts.concurrency ?? 10,
    });
    if (opts.middleware) this.worker.use(...opts.middleware);
    this.deadLetters = new NatsDeadLetters(
      jetstream(nc),
      async () => this.jsm,
      () => this.sender,
      (dispatchId, replay) => forgetResult(buckets.results, dispatchId, replay),
    );
  }

  register<R>(type: string, handler: (ctx: JobContext) => R | Promise<R>, opts?: RegisterOptions): void {
    this.worker.register(type, handler, opts);
  }

  withMiddleware(...middleware: Middleware[]): Bus {
    this.worker.use(...middleware);
    return this;
  }

  async startWorkers(opts: StartWorkersOptions = {}): Promise<void> {
    this.worker.configure(opts);
    await this.worker.start();
  }

  get workerId(): string {
    return this.worker.workerId;
  }

  async dispatch(j: Job): Promise<DispatchResult> {
    const dispatchId = j.dispatchId ?? newId("dsp");
    // Caught from now: the job may finish before this call returns, and a `wait` after it then needs no read.
    this.early.watch(dispatchId);
    try {
      const reply = await this.requester.request<DispatchOk>(REQUEST_SUBJECTS.dispatch, {
        v: 1,
        job: toJobRequest(j, dispatchId),
      });
      return { dispatchId: reply.dispatch_id, duplicate: reply.duplicate };
    } catch (err) {
      this.early.drop(dispatchId);
      throw err;
    }
  }

  async dispatchMany(jobs: readonly Job[]): Promise<DispatchManyResult[]> {
    // Not watched from here (a `wait` on one of them listens for its stored record), so they go without done
    // notices: two messages a job that nobody would read.
    const results = await this.bulk.send(jobs.map((j) => toJobRequest(j, j.dispatchId ?? newId("dsp"))));
    return results.map((r) =>
      r.ok
        ? { ok: true, dispatchId: r.dispatch_id, duplicate: r.duplicate }
        : {
            ok: false,
            error: fromErrorBody(r.error),
            ...(r.dispatch_id ? { dispatchId: r.dispatch_id } : {}),
          },
    );
  }

  private maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  wait(id: string, opts: WaitOptions = {}): Promise<WaitOutcome> {
    return waitForOutcome(this.nc, this.jsm, this.buckets, id, opts.timeout ?? 30_000, this.early, this.feed);
  }

  chain(...jobs: Job[]): ChainBuilder {
    return new ChainBuilder({ jobs }, (spec) => sendChain(this.requester, spec));
  }

  batch(...jobs: Job[]): BatchBuilder {
    return new BatchBuilder({ jobs, allowFailures: false }, (spec) =>
      sendBatch(this.requester, spec, this.maxPayload()),
    );
  }

  async findChain(chainId: string): Promise<ChainInfo> {
    const r = await this.store.read({ kind: "chain", id: chainId });
    if (!r || r.value.state.kind !== "chain") throw new NotFoundError(`chain ${chainId}`);
    return chainInfo(workflowView(r.value.state) as never);
  }

  async findBatch(batchId: string): Promise<BatchInfo> {
    const r = await this.store.read({ kind: "batch", id: batchId });
    if (!r || r.value.state.kind !== "batch") throw new NotFoundError(`batch ${batchId}`);
    return batchInfo(workflowView(r.value.state) as never);
  }

  async cancelBatch(batchId: string, reason?: string): Promise<void> {
    await this.requester.request(REQUEST_SUBJECTS.batchCancel, {
      v: 1,
      batch_id: batchId,
      ...(reason ? { reason } : {}),
    });
  }

  async prune(before: Date): Promise<number> {
    return pruneWorkflows(this.store, before.getTime());
  }

  observe(observer: Observer, opts: ObserveOptions = {}): Subscription {
    const sub = observeEvents(jetstream(this.nc), observer, opts, this.log);
    this.subscriptions.add(sub);
    return {
      ready: sub.ready,
      stop: async () => {
        this.subscriptions.delete(sub);
        await sub.stop();
      },
    };
  }

  async shutdown(): Promise<void> {
    await this.worker.stop(this.opts.drainTimeoutMs ?? 10_000);
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.publisher.close();
    if (this.ownsConnection) await this.nc.drain();
  }
}

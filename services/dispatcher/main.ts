/**
 * @module
 * The dispatcher service: answers dispatch, chain and batch requests (queue group, so replicas share them),
 * creates what is missing of the JetStream layout (reporting drift, changing nothing), and places jobs that
 * v1 workers parked. uniqueFor claims expire by server TTL: no sweep. While `jetbus-unique` lacks TTL support
 * (made by an older version) the dispatcher is not ready.
 */
import { hostname } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { BUCKETS, CONSUMERS, QUEUE_GROUPS, STREAMS } from "../../shared/protocol/names.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { NatsEffectSink } from "../../shared/nats/effect-sink.ts";
import { JobSender } from "../../shared/nats/job-sender.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { ensureConsumer, liveAckWaitMs, provisionTopology } from "../../shared/nats/provision.ts";
import { PullLoop } from "../../shared/nats/pull-loop.ts";
import { WaitingCounters } from "../../shared/nats/waiting-counters.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { serve } from "../../shared/nats/responder.ts";
import { KeyTtlReadiness } from "../../shared/nats/key-ttl-readiness.ts";
import { deadLetterMaxBytes, schedulerConsumerConfig } from "../../shared/nats/topology.ts";
import { faultPoint } from "../../shared/service/faults.ts";
import { runService, type RunningService, type ServiceContext } from "../../shared/service/lifecycle.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { WorkflowEngine } from "../../shared/workflow/engine.ts";
import { loadConfig, type DispatcherConfig } from "./config.ts";
import { DispatchHandlers } from "./dispatch-handlers.ts";
import { KnownTypes } from "./known-types.ts";
import { DelayedCapacity } from "./delayed-capacity.ts";
import { LegacyParks } from "./legacy-parks.ts";
import { UniqueClaims } from "./unique-claims.ts";
import { WorkflowHandlers } from "./workflow-handlers.ts";

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  await runService({ name: "dispatcher", config, start: startDispatcher });
}

/** Starts the dispatcher on an open connection (in-process: used by main, by tests and by the dev mesh). */
export async function startDispatcher({
  nc,
  log,
  config,
}: ServiceContext<DispatcherConfig>): Promise<RunningService> {
  const t = config.common.topology;
  const jsm = await jetstreamManager(nc);
  const { buckets, withoutKeyTtl } = await provisionTopology(nc, jsm, t, log);
  const ttlReady = new KeyTtlReadiness(
    jsm,
    withoutKeyTtl.filter((b) => b === BUCKETS.unique),
    log,
  );
  const publisher = new JetStreamPublisher(nc, { deadLetterMaxBytes: deadLetterMaxBytes(t) });
  const counters = new WaitingCounters(jsm, (err) =>
    log.warn({ err: String(err) }, "could not create a waiting-jobs counter"),
  );
  const sender = new JobSender(publisher, { onScheduled: counters.note });
  const source = `dispatcher-${hostname()}-${process.pid}`;
  const events = new EventBatcher(publisher, source, (err) =>
    log.warn({ err: String(err) }, "event publish failed"),
  );
  const limits = { maxPayloadBytes: config.maxPayloadBytes, uniqueMaxMs: t.uniqueMaxMs };
  const engine = new WorkflowEngine(
    new KvWorkflowStore(buckets.workflows),
    new NatsEffectSink(nc, sender, buckets.cancels, events),
    {
      republishHorizonMs: t.duplicateWindowMs / 2,
      dedupeWindowMs: t.duplicateWindowMs,
      onConflict: () => metrics.kvConflicts.inc({ bucket: "workflows" }),
      onWritten: (state) => {
        if (state.kind === "batch" && !state.sealed) faultPoint("dispatcher:after-record");
      },
    },
  );
  const types = new KnownTypes(jsm, config.rejectUnknownTypes);
  const dispatch = new DispatchHandlers({
    types,
    sender,
    claims: new UniqueClaims(buckets.unique),
    delayed: new DelayedCapacity(jsm, { maxMessages: t.maxQueuedJobs, maxBytes: t.maxQueuedBytes }),
    events,
    limits,
    defaultQueue: config.defaultQueue,
    now: Date.now,
  });
  const workflows = new WorkflowHandlers({
    engine,
    types,
    sender,
    limits,
    defaultQueue: config.defaultQueue,
  });
  // Every await before anything starts: a start that fails on a cluster still forming leaves nothing running,
  // and the next start begins afresh.
  const live = config.runScheduler
    ? await ensureConsumer(jsm, STREAMS.delayed, schedulerConsumerConfig(t), log)
    : null;
  const q = QUEUE_GROUPS.dispatcher;
  const onError = (code: string) => metrics.rejected.inc({ code });
  const subs = [
    serve(nc, REQUEST_SUBJECTS.dispatch, q, dispatch.single, log),
    serve(nc, REQUEST_SUBJECTS.dispatchBulk, q, dispatch.bulk, log),
    serve(nc, REQUEST_SUBJECTS.chain, q, workflows.chain, log, onError),
    serve(nc, REQUEST_SUBJECTS.batchCreate, q, workflows.batchCreate, log, onError),
    serve(nc, REQUEST_SUBJECTS.batchAppend, q, workflows.batchAppend, log, onError),
    serve(nc, REQUEST_SUBJECTS.batchSeal, q, workflows.batchSeal, log, onError),
    serve(nc, REQUEST_SUBJECTS.batchCancel, q, workflows.batchCancel, log, onError),
  ];

  let scheduler: PullLoop | null = null;
  if (live) {
    const parks = new LegacyParks(sender, publisher, log);
    scheduler = new PullLoop({
      nc,
      stream: STREAMS.delayed,
      consumer: CONSUMERS.scheduler,
      concurrency: 256,
      groupSize: 1,
      prefetch: 1024,
      ackWaitMs: liveAckWaitMs(live, t.ackWaitMs),
      expiresMs: 2_000,
      handle: (msgs) => parks.forward(msgs[0]!),
      recreate: async () => {
        await ensureConsumer(jsm, STREAMS.delayed, schedulerConsumerConfig(t), log);
      },
      log,
    });
    scheduler.start();
  }
  return {
    notReadyReason: () => ttlReady.reason(),
    async drain() {
      ttlReady.stop();
      await Promise.all(subs.map((s) => s.drain()));
      if (scheduler) {
        // Parked jobs are safe in the stream; unstarted ones just go back.
        for (const m of scheduler.stop()) m.nak();
        await scheduler.closed();
        for (const m of scheduler.drainLate()) m.nak();
        await scheduler.idleOrTimeout(config.common.drainTimeoutMs);
      }
      await events.flush();
      await publisher.flush();
      publisher.close();
    },
  };
}

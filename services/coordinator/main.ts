/**
 * @module
 * The coordinator service: consumes outcome groups (replicas share one durable consumer), keeps chain and
 * batch state with revision-checked writes, publishes successors, callbacks and events, and runs the
 * reconciler (stale outboxes, hanging workflows, pruning). Expired uniqueFor claims, locks and rate-limit
 * windows need nothing from it: they expire by server TTL.
 */
import { hostname } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { CONSUMERS, STREAMS } from "../../shared/protocol/names.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { NatsEffectSink } from "../../shared/nats/effect-sink.ts";
import { JobSender } from "../../shared/nats/job-sender.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { ensureConsumer, liveAckWaitMs, provisionTopology } from "../../shared/nats/provision.ts";
import { PullLoop } from "../../shared/nats/pull-loop.ts";
import { WaitingCounters } from "../../shared/nats/waiting-counters.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { deadLetterMaxBytes, coordinatorConsumerConfig } from "../../shared/nats/topology.ts";
import { faultPoint } from "../../shared/service/faults.ts";
import { runService, type RunningService, type ServiceContext } from "../../shared/service/lifecycle.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { WorkflowEngine } from "../../shared/workflow/engine.ts";
import { loadConfig, type CoordinatorConfig } from "./config.ts";
import { OutcomeProcessor } from "./outcome-processor.ts";
import { WorkerDirectory } from "../../shared/nats/worker-directory.ts";
import { OrphanSweeper } from "./orphans.ts";
import { Reconciler } from "./reconciler.ts";

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  await runService({ name: "coordinator", config, start: startCoordinator });
}

/** Starts the coordinator on an open connection (in-process: used by main, by tests and by the dev mesh). */
export async function startCoordinator({
  nc,
  log,
  config,
}: ServiceContext<CoordinatorConfig>): Promise<RunningService> {
  const t = config.common.topology;
  const jsm = await jetstreamManager(nc);
  const { buckets } = await provisionTopology(nc, jsm, t, log);
  const publisher = new JetStreamPublisher(nc, { deadLetterMaxBytes: deadLetterMaxBytes(t) });
  const counters = new WaitingCounters(jsm, (err) =>
    log.warn({ err: String(err) }, "could not create a waiting-jobs counter"),
  );
  const sender = new JobSender(publisher, { onScheduled: counters.note });
  const source = `coordinator-${hostname()}-${process.pid}`;
  const events = new EventBatcher(publisher, source, (err) =>
    log.warn({ err: String(err) }, "event publish failed"),
  );
  const store = new KvWorkflowStore(buckets.workflows);
  const engine = new WorkflowEngine(store, new NatsEffectSink(nc, sender, buckets.cancels, events), {
    republishHorizonMs: t.duplicateWindowMs / 2,
    dedupeWindowMs: t.duplicateWindowMs,
    onConflict: () => metrics.kvConflicts.inc({ bucket: "workflows" }),
    onWritten: (_state, outbox) => {
      if (
        outbox.some(
          (e) =>
            e.effect.type === "publish" &&
            e.effect.item.callback &&
            e.effect.item.callback.kind !== "progress",
        )
      ) {
        faultPoint("coordinator:after-claim");
      }
    },
    onPerformed: () => faultPoint("coordinator:after-publish"),
  });
  const processor = new OutcomeProcessor({
    nc,
    publisher,
    engine,
    events,
    log,
    resultsMaxBytes: t.maxMessageBytes,
  });
  const consumerCfg = coordinatorConsumerConfig(t);
  const live = await ensureConsumer(jsm, STREAMS.outcomes, consumerCfg, log);
  const loop = new PullLoop({
    nc,
    stream: STREAMS.outcomes,
    consumer: CONSUMERS.coordinator,
    concurrency: config.groupConcurrency,
    groupSize: config.groupSize,
    prefetch: config.groupSize,
    ackWaitMs: liveAckWaitMs(live, t.ackWaitMs),
    expiresMs: 2_000,
    handle: (msgs) => processor.handleGroup(msgs),
    recreate: async () => {
      await ensureConsumer(jsm, STREAMS.outcomes, consumerCfg, log);
    },
    log,
  });
  // The last await comes before the loop starts: a start that fails (a cluster still forming) leaves nothing
  // running, and the next start begins afresh.
  const directory = new WorkerDirectory(buckets.workers, log);
  await directory.start();
  loop.start();
  const workers = (now: number) => directory.live(now);
  const orphans = new OrphanSweeper({
    js: jetstream(nc),
    jsm,
    publisher,
    workers,
    topology: t,
    deadlineMs: config.unknownTypeDeadlineMs,
    log,
  });
  const reconciler = new Reconciler({ engine, store, jsm, workers, config, log, orphans });
  reconciler.start();
  return {
    async drain() {
      // Unprocessed outcome messages go back at once; a group in progress finishes.
      for (const m of loop.stop()) m.nak();
      await loop.closed();
      for (const m of loop.drainLate()) m.nak();
      await loop.idleOrTimeout(config.common.drainTimeoutMs);
      await reconciler.stop();
      await directory.stop();
      await events.flush();
      await publisher.flush();
      publisher.close();
    },
  };
}

/**
 * @module
 * The worker service: loads the handler modules named in JETBUS_HANDLERS and runs them on the queues in
 * JETBUS_QUEUES; drains on SIGTERM (running jobs finish or are released to other workers).
 */
import { deadLetterMaxBytes } from "../../shared/nats/topology.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { KeyTtlReadiness } from "../../shared/nats/key-ttl-readiness.ts";
import { provisionTopology } from "../../shared/nats/provision.ts";
import { BUCKETS } from "../../shared/protocol/names.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { faultPoint } from "../../shared/service/faults.ts";
import { runService, type RunningService, type ServiceContext } from "../../shared/service/lifecycle.ts";
import { WorkerHost } from "../../shared/worker/worker-host.ts";
import { loadConfig, type WorkerConfig } from "./config.ts";
import { loadHandlers } from "./load-handlers.ts";

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  await runService({ name: "worker", config, start: startWorker });
}

/** Starts the worker on an open connection (in-process: used by main, by tests and by the dev mesh). */
export async function startWorker({
  nc,
  log,
  config,
}: ServiceContext<WorkerConfig>): Promise<RunningService> {
  const t = config.common.topology;
  const jsm = await jetstreamManager(nc);
  const { buckets, withoutKeyTtl } = await provisionTopology(nc, jsm, t, log);
  // Locks and rate-limit windows need TTL keys; until `jetbus init --apply` a job using them is put back.
  const ttlReady = new KeyTtlReadiness(
    jsm,
    withoutKeyTtl.filter((b) => b === BUCKETS.locks || b === BUCKETS.limits),
    log,
  );
  const publisher = new JetStreamPublisher(nc, { deadLetterMaxBytes: deadLetterMaxBytes(t) });
  const host = new WorkerHost({
    nc,
    js: jetstream(nc),
    jsm,
    buckets,
    publisher,
    topology: t,
    log,
    queues: config.queues,
    concurrency: config.concurrency,
    heartbeatMs: config.heartbeatMs,
    maxResultBytes: config.maxResultBytes,
    hopTiming: config.common.hopTiming,
    onOutcomeStored: () => faultPoint("worker:after-outcome"),
  });
  await loadHandlers(config.handlers, host);
  if (host.types.length === 0) log.warn("the handler modules registered no job types");
  await host.start();
  return {
    notReadyReason: () => ttlReady.reason(),
    async drain() {
      ttlReady.stop();
      await host.stop(config.common.drainTimeoutMs);
      await publisher.flush();
      publisher.close();
    },
  };
}

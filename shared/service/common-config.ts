/**
 * @module
 * Configuration every service shares (and `jetbus init` reads): where NATS is, how to log, where to serve
 * health and metrics, and the JetStream topology limits. Topology keys shape streams and buckets when they are
 * created; on a live layout a changed key shows as drift until `jetbus init --apply` applies it.
 */
import { DEFAULT_TOPOLOGY, type TopologyConfig } from "../nats/topology.ts";
import type { EnvReader } from "./env.ts";

export interface CommonConfig {
  natsServers: string[];
  natsUser?: string;
  natsPass?: string;
  natsToken?: string;
  logLevel: string;
  /** 0 picks a free port (logged at start) */
  httpPort: number;
  httpHost: string;
  topology: TopologyConfig;
  drainTimeoutMs: number;
  /** stamp hop times on replies, outcomes, notices and events (a diagnostic: `JETBUS_HOP_TIMING=1`) */
  hopTiming: boolean;
}

export function readCommon(r: EnvReader, defaultHttpPort: number): CommonConfig {
  const d = DEFAULT_TOPOLOGY;
  const cfg: CommonConfig = {
    natsServers: r.list("NATS_URL", ["127.0.0.1:4222"]),
    logLevel: r.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
    httpPort: r.int("JETBUS_HTTP_PORT", defaultHttpPort, { min: 0, max: 65535 }),
    httpHost: r.string("JETBUS_HTTP_HOST", "0.0.0.0"),
    drainTimeoutMs: r.int("JETBUS_DRAIN_TIMEOUT_MS", 25_000, { min: 0 }),
    hopTiming: r.bool("JETBUS_HOP_TIMING", false),
    topology: {
      replicas: r.int("JETBUS_REPLICAS", d.replicas, { min: 1, max: 5 }),
      maxQueuedJobs: r.int("JETBUS_MAX_QUEUED_JOBS", d.maxQueuedJobs, { min: -1 }),
      maxQueuedBytes: r.int("JETBUS_MAX_QUEUED_BYTES", d.maxQueuedBytes, { min: -1 }),
      maxMessageBytes: r.int("JETBUS_MAX_MESSAGE_BYTES", d.maxMessageBytes, { min: 1024 }),
      duplicateWindowMs: r.int("JETBUS_DUPLICATE_WINDOW_MS", d.duplicateWindowMs, { min: 1000 }),
      eventsMaxAgeMs: r.int("JETBUS_EVENTS_MAX_AGE_MS", d.eventsMaxAgeMs, { min: 1000 }),
      eventsMaxBytes: r.int("JETBUS_EVENTS_MAX_BYTES", d.eventsMaxBytes, { min: -1 }),
      deadLetterMaxAgeMs: r.int("JETBUS_DLQ_MAX_AGE_MS", d.deadLetterMaxAgeMs, { min: 0 }),
      deadLetterMaxBytes: r.int("JETBUS_DLQ_MAX_BYTES", d.deadLetterMaxBytes, { min: -1 }),
      resultTtlMs: r.int("JETBUS_RESULT_TTL_MS", d.resultTtlMs, { min: 1000 }),
      resultsMaxBytes: r.int("JETBUS_RESULTS_MAX_BYTES", d.resultsMaxBytes, { min: -1 }),
      uniqueMaxMs: r.int("JETBUS_UNIQUE_MAX_MS", d.uniqueMaxMs, { min: 1000 }),
      ackWaitMs: r.int("JETBUS_ACK_WAIT_MS", d.ackWaitMs, { min: 500 }),
      maxAckPending: r.int("JETBUS_MAX_ACK_PENDING", d.maxAckPending, { min: 1 }),
    },
  };
  const user = r.optional("NATS_USER");
  const pass = r.optional("NATS_PASS");
  const token = r.optional("NATS_TOKEN");
  if (user) cfg.natsUser = user;
  if (pass) cfg.natsPass = pass;
  if (token) cfg.natsToken = token;
  r.check(!(user && !pass), "NATS_USER is set without NATS_PASS");
  return cfg;
}

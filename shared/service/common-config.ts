/**
 * @module
 * Configuration every service shares (and `jetbus init` reads): where NATS is, how to log, where to serve
 * health and metrics, and the JetStream topology limits. Topology keys shape streams and buckets when they are
 * created; on a live layout a changed key shows as drift until `jetbus init --apply` applies it.
 */
import type { NatsAuth } from "../nats/connection.ts";
import { DEFAULT_TOPOLOGY, type TopologyConfig } from "../nats/topology.ts";
import type { EnvReader } from "./env.ts";

export interface CommonConfig {
  natsServers: string[];
  /** credentials, TLS and inbox prefix; secrets come as file paths, read when connecting */
  natsAuth: NatsAuth;
  logLevel: string;
  /** 0 picks a free port (logged at start) */
  httpPort: number;
  httpHost: string;
  topology: TopologyConfig;
  drainTimeoutMs: number;
  /** stamp hop times on replies, outcomes, notices and events (a diagnostic: `JETBUS_HOP_TIMING=1`) */
  hopTiming: boolean;
}

export function readCommon(r: EnvReader, defaultHttpPort: number, defaultHttpHost = "0.0.0.0"): CommonConfig {
  const d = DEFAULT_TOPOLOGY;
  const cfg: CommonConfig = {
    natsServers: r.list("NATS_URL", ["127.0.0.1:4222"]),
    natsAuth: readNatsAuth(r),
    logLevel: r.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
    httpPort: r.int("JETBUS_HTTP_PORT", defaultHttpPort, { min: 0, max: 65535 }),
    httpHost: r.string("JETBUS_HTTP_HOST", defaultHttpHost),
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
  return cfg;
}

/** Reply subjects are plain subject tokens: no wildcards, no empty tokens. */
const INBOX_PREFIX = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/**
 * The NATS credentials keys (also read by the CLI): one way to authenticate at most, TLS beside any of them,
 * a client certificate only with its key. Files are named here and read when connecting.
 */
export function readNatsAuth(r: EnvReader): NatsAuth {
  const auth: NatsAuth = {};
  const user = r.optional("NATS_USER");
  const pass = r.optional("NATS_PASS");
  const token = r.optional("NATS_TOKEN");
  const nkey = r.optional("NATS_NKEY_SEED_FILE");
  const creds = r.optional("NATS_CREDS_FILE");
  const ca = r.optional("NATS_TLS_CA");
  const cert = r.optional("NATS_TLS_CERT");
  const key = r.optional("NATS_TLS_KEY");
  const inbox = r.optional("NATS_INBOX_PREFIX");
  if (user) auth.user = user;
  if (pass) auth.pass = pass;
  if (token) auth.token = token;
  if (nkey) auth.nkeySeedFile = nkey;
  if (creds) auth.credsFile = creds;
  if (ca || cert || key)
    auth.tls = {
      ...(ca ? { caFile: ca } : {}),
      ...(cert ? { certFile: cert } : {}),
      ...(key ? { keyFile: key } : {}),
    };
  if (inbox) auth.inboxPrefix = inbox;
  r.check(!(user && !pass), "NATS_USER is set without NATS_PASS");
  r.check(!(pass && !user), "NATS_PASS is set without NATS_USER");
  const ways = [
    user || pass ? "NATS_USER/NATS_PASS" : "",
    token ? "NATS_TOKEN" : "",
    nkey ? "NATS_NKEY_SEED_FILE" : "",
    creds ? "NATS_CREDS_FILE" : "",
  ].filter(Boolean);
  r.check(ways.length <= 1, `set one way to authenticate, not ${ways.join(" and ")}`);
  r.check(
    !(cert && !key),
    "NATS_TLS_CERT is set without NATS_TLS_KEY (the client certificate's private key)",
  );
  r.check(!(key && !cert), "NATS_TLS_KEY is set without NATS_TLS_CERT");
  r.check(
    !inbox || INBOX_PREFIX.test(inbox),
    `NATS_INBOX_PREFIX=${JSON.stringify(inbox)} must be dot-separated subject tokens without wildcards`,
  );
  return auth;
}

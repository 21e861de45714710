/**
 * @module
 * Idempotent provisioning at start: every replica of every service may run it at once. Streams are added or
 * updated; consumers are read first and updated deliberately, because on 2.9.10 `consumers.add` silently
 * overwrites an existing durable (NATS-NOTES §2).
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { BUCKETS } from "../protocol/names.ts";
import { notProvisioned, permissionViolation } from "./permission-errors.ts";
import { bucketSpecs, streamConfigs, type TopologyConfig } from "./topology.ts";

function isNotFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * Adds the stream if missing. With `update`, an existing stream gets `cfg`'s mutable settings (only the
 * dispatcher, which owns the limits, updates; other processes must not undo its configuration).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
  update = true,
) {
  try {
    await jsm.streams.info(cfg.name);
  } catch (err) {
    if (!isNotFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      return await jsm.streams.add(cfg);
    } catch (addErr) {
      const refused = notProvisioned(`stream ${cfg.name}`, addErr);
      if (refused) throw refused;
      // Another replica created it between our info and add: fall through to update.
      if (!(addErr instanceof JetStreamApiError) || addErr.code !== 10058) throw addErr;
    }
  }
  if (!update) return;
  const { retention: _r, storage: _s, ...mutable } = cfg;
  try {
    return await jsm.streams.update(cfg.name, mutable);
  } catch (err) {
    // A least-privilege role (deploy/nats) may not change streams: they stay as the operator made them.
    if (permissionViolation(err)) return;
    throw err;
  }
}

const COMPARED: (keyof ConsumerConfig)[] = [
  "ack_wait",
  "max_deliver",
  "max_ack_pending",
  "filter_subject",
  "ack_policy",
];

export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: Partial<ConsumerConfig> & { durable_name: string },
): Promise<ConsumerInfo> {
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, cfg.durable_name);
  } catch (err) {
    if (!isNotFound(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    return jsm.consumers.add(stream, cfg).catch((addErr: unknown) => {
      throw notProvisioned(`consumer ${cfg.durable_name} on ${stream}`, addErr) ?? addErr;
    });
  }
  const differs = COMPARED.some((k) => cfg[k] !== undefined && info.config[k] !== cfg[k]);
  return differs ? jsm.consumers.update(stream, cfg.durable_name, cfg) : info;
}

export interface Buckets {
  workflows: KV;
  results: KV;
  unique: KV;
  locks: KV;
  limits: KV;
  workers: KV;
  cancels: KV;
}

export async function provisionTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  t: TopologyConfig,
  opts: { updateExisting: boolean },
): Promise<Buckets> {
  for (const cfg of streamConfigs(t)) await ensureStream(jsm, cfg, opts.updateExisting);
  const kvm = new Kvm(nc);
  const opened: Partial<Record<keyof Buckets, KV>> = {};
  const specs = bucketSpecs(t);
  await Promise.all(
    (Object.keys(BUCKETS) as (keyof Buckets)[]).map(async (k) => {
      const spec = specs.find((s) => s.name === BUCKETS[k])!;
      opened[k] = await kvm
        .create(spec.name, { history: spec.history, ttl: spec.ttlMs, replicas: t.replicas })
        .catch((err: unknown) => {
          throw notProvisioned(`KV bucket ${spec.name}`, err) ?? err;
        });
    }),
  );
  return opened as Buckets;
}

/** Opens the buckets without creating them (for processes that did not provision). Lazy: fails on first use if missing. */
export async function openBuckets(nc: NatsConnection): Promise<Buckets> {
  const kvm = new Kvm(jetstream(nc, { timeout: 10_000 }));
  const entries = await Promise.all(
    (Object.keys(BUCKETS) as (keyof Buckets)[]).map(async (k) => [k, await kvm.open(BUCKETS[k])] as const),
  );
  return Object.fromEntries(entries) as unknown as Buckets;
}

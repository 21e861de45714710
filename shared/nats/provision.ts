/**
 * @module
 * Provisioning at start, run by every replica of every service (and by `connectBus`): streams, buckets and
 * consumers that are missing are created (create-only: whichever replica wins, the others read what it made);
 * ones that exist are compared with the configuration and any drift is reported (drift.ts), never changed.
 * Changing a limit therefore takes `jetbus init --apply` (plan.ts).
 */
import { jetstream, type ConsumerInfo, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { BUCKETS } from "../protocol/names.ts";
import type { Logger } from "../telemetry/logger.ts";
import { planResource } from "./config-diff.ts";
import { reportDrift } from "./drift.ts";
import { TtlBucket } from "./kv-ttl.ts";
import { createConsumerIfMissing, createStreamIfMissing } from "./live-state.ts";
import { streamResources, type ConsumerSpec, type TopologyConfig } from "./topology.ts";

export interface Buckets {
  workflows: KV;
  results: KV;
  unique: TtlBucket;
  locks: TtlBucket;
  limits: TtlBucket;
  workers: KV;
  cancels: KV;
}

export interface Provisioned {
  buckets: Buckets;
  /** buckets whose keys should expire by TTL but whose stream does not allow it (made by an older jetbus) */
  withoutKeyTtl: string[];
}

const TTL_BUCKETS = ["unique", "locks", "limits"] as const;

function openAll(nc: NatsConnection, direct: (name: string) => boolean | undefined): Promise<Buckets> {
  const js = jetstream(nc, { timeout: 10_000 });
  const kvm = new Kvm(js);
  return Promise.all(
    (Object.keys(BUCKETS) as (keyof Buckets)[]).map(async (k) => {
      const name = BUCKETS[k];
      const allow = direct(name);
      const kv = await kvm.open(name, allow === undefined ? {} : { allow_direct: allow });
      return [k, (TTL_BUCKETS as readonly string[]).includes(k) ? new TtlBucket(kv, js, name) : kv] as const;
    }),
  ).then((entries) => Object.fromEntries(entries) as unknown as Buckets);
}

export async function provisionTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  t: TopologyConfig,
  log: Logger,
): Promise<Provisioned> {
  const live = await Promise.all(
    streamResources(t).map(async (r) => {
      // A resource just created is in step; checking it anyway clears an earlier report of it.
      const { info } = await createStreamIfMissing(jsm, r.spec);
      reportDrift(log, planResource(r.resource, r.spec, info.config));
      return { ...r, info };
    }),
  );
  const direct = new Map(
    live.filter((r) => r.bucket).map((r) => [r.bucket!.name, r.info.config.allow_direct]),
  );
  const withoutKeyTtl = live
    .filter((r) => r.bucket?.keyTtl && r.info.config.allow_msg_ttl !== true)
    .map((r) => r.bucket!.name);
  return { buckets: await openAll(nc, (name) => direct.get(name)), withoutKeyTtl };
}

/** The consumer as it lives on the server (created from `spec` if missing); drift is reported, not changed. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  spec: ConsumerSpec,
  log: Logger,
): Promise<ConsumerInfo> {
  const { info, created } = await createConsumerIfMissing(jsm, stream, spec);
  if (!created)
    reportDrift(log, planResource({ kind: "consumer", name: spec.durable_name, stream }, spec, info.config));
  return info;
}

/** Opens the buckets without creating or checking them (for tools that did not provision). */
export function openBuckets(nc: NatsConnection): Promise<Buckets> {
  return openAll(nc, () => undefined);
}

/**
 * The ack wait a consumer really has: it may differ from the configuration until `jetbus init --apply`, and
 * keep-alives paced by a longer configured wait would let a running job's message be redelivered.
 */
export function liveAckWaitMs(info: ConsumerInfo, configuredMs: number): number {
  const ns = info.config.ack_wait;
  return typeof ns === "number" && ns > 0 ? Math.round(ns / 1e6) : configuredMs;
}

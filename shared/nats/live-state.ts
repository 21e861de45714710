/**
 * @module
 * Reading what exists, and creating what does not, with create-only semantics: a stream or consumer that is
 * there already is never changed here, whatever it looks like (another replica may have just made it; an
 * operator may have changed it on purpose). Both the services (provision.ts) and `jetbus init` (plan.ts) read
 * through these.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { notProvisioned } from "./permission-errors.ts";
import type { ConsumerSpec, StreamSpec } from "./topology.ts";

const STREAM_NAME_IN_USE = 10058;
const CONSUMER_EXISTS = 10148;

const hasCode = (err: unknown, ...codes: number[]) =>
  err instanceof JetStreamApiError && codes.includes(err.code);

export async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (hasCode(err, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  }
}

export async function consumerInfo(
  jsm: JetStreamManager,
  stream: string,
  name: string,
): Promise<ConsumerInfo | null> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (err) {
    if (hasCode(err, JetStreamApiCodes.ConsumerNotFound, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  }
}

/** The live stream, created from `spec` if missing. `created` says which. */
export async function createStreamIfMissing(
  jsm: JetStreamManager,
  spec: StreamSpec,
): Promise<{ info: StreamInfo; created: boolean }> {
  const have = await streamInfo(jsm, spec.name);
  if (have) return { info: have, created: false };
  try {
    return { info: await jsm.streams.add(spec as StreamConfig), created: true };
  } catch (err) {
    // Another process created it between our read and our add (with its own config): read what won.
    if (!hasCode(err, STREAM_NAME_IN_USE)) throw notProvisioned(`stream ${spec.name}`, err) ?? err;
    return { info: await jsm.streams.info(spec.name), created: false };
  }
}

export async function createConsumerIfMissing(
  jsm: JetStreamManager,
  stream: string,
  spec: ConsumerSpec,
): Promise<{ info: ConsumerInfo; created: boolean }> {
  const have = await consumerInfo(jsm, stream, spec.durable_name);
  if (have) return { info: have, created: false };
  try {
    return { info: await jsm.consumers.add(stream, spec as ConsumerConfig), created: true };
  } catch (err) {
    if (!hasCode(err, CONSUMER_EXISTS))
      throw notProvisioned(`consumer ${spec.durable_name} on ${stream}`, err) ?? err;
    return { info: await jsm.consumers.info(stream, spec.durable_name), created: false };
  }
}

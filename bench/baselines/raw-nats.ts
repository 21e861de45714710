/**
 * @module
 * The raw ceiling for P1: publish (1,000 in flight) into a WorkQueue stream → a separate worker process
 * consumes with a callback and acks. Time runs from the first publish to the last ack, as seen by the worker.
 * It is the fastest pipeline we can write with nats.js on the same server, so jetbus's P1 divided by it says
 * how much of the ceiling the product's bookkeeping keeps.
 */
import { fileURLToPath } from "node:url";
import { connect, nuid } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { BenchChild } from "../lib/child.ts";
import { sampleRss } from "../lib/rss.ts";

export type RawP1Options = {
  natsUrl: string;
  n: number;
  /** Messages through the same processes before the measured part. @defaultValue 1000 */
  warmup?: number;
  /** nats-server pid, to report its peak RSS during the run. */
  serverPid?: number;
  /** Stream replicas (P7, on a cluster). @defaultValue 1 */
  replicas?: number;
};

export type RawP1Figures = {
  perSec: number;
  rssMb: { producer: number | null; worker: number | null; server: number | null };
};

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export async function runRawP1({
  natsUrl,
  n,
  warmup = 1000,
  serverPid,
  replicas = 1,
}: RawP1Options): Promise<RawP1Figures> {
  const id = nuid.next();
  const stream = `BENCH_RAW_${id}`;
  const nc = await connect({ servers: natsUrl, name: "bench-raw-setup" });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [`bench.raw.${id}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    ...(replicas > 1 ? { num_replicas: replicas } : {}),
  });
  await jsm.consumers.add(stream, {
    durable_name: "worker",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 1000,
  });
  const server = sampleRss(serverPid);
  const children: BenchChild[] = [];
  try {
    const env = { NATS_URL: natsUrl, STREAM: stream, CONSUMER: "worker", SUBJECT: `bench.raw.${id}.job` };
    const worker = await BenchChild.start(file("raw-nats-worker.ts"), "raw worker", env);
    children.push(worker);
    const producer = await BenchChild.start(file("raw-nats-producer.ts"), "raw producer", env);
    children.push(producer);

    const pass = async (count: number) => {
      await worker.request({ type: "expect", count });
      const [done, reached] = await Promise.all([
        producer.request<{ type: string; t0: number }>({ type: "publish", count }),
        worker.next<{ type: string; at: number }>("reached"),
      ]);
      return reached.at - done.t0;
    };
    if (warmup > 0) await pass(warmup);
    const ms = await pass(n);
    const [workerRss, producerRss] = [await worker.stop(), await producer.stop()];
    return {
      perSec: n / (ms / 1000),
      rssMb: { producer: producerRss, worker: workerRss, server: server.stop() },
    };
  } finally {
    for (const c of children) c.kill();
    server.stop();
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

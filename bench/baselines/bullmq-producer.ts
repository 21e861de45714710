/**
 * @module
 * BullMQ baseline producer process. Commands (each answered with `{type: "done", …}`):
 * `addBulk {count, name}` in chunks of 1,000; `latency {count}`: add → `waitUntilFinished`, one at a time;
 * `flow {count}`: one parent with `count` children; `chain {count}`: the first step of a chain;
 * `flaky {count}`: jobs with `attempts: 3`, fixed 10 ms backoff; `obliterate`.
 */
import { FlowProducer, Queue, QueueEvents } from "bullmq";
import { epochMs } from "../lib/clock.ts";
import { numberField, requireEnv, serve, type ChildMessage } from "../lib/child-side.ts";
import { connectionFor, JOB_OPTS, JobNames } from "./bullmq-config.ts";

const CHUNK = 1000;
const connection = connectionFor(requireEnv("REDIS_URL"));
const queueName = requireEnv("QUEUE");
const queue = new Queue(queueName, { connection, defaultJobOptions: JOB_OPTS });
let events: QueueEvents | undefined;
let flows: FlowProducer | undefined;
await queue.waitUntilReady();

async function addInChunks(count: number, name: string, opts = JOB_OPTS): Promise<void> {
  for (let from = 0; from < count; from += CHUNK) {
    const size = Math.min(CHUNK, count - from);
    await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name, data: { i: from + k }, opts })));
  }
}

serve(
  {
    addBulk: async (msg) => {
      const t0 = epochMs();
      await addInChunks(numberField(msg, "count"), typeof msg.name === "string" ? msg.name : JobNames.warm);
      return { type: "done", t0, t1: epochMs() };
    },
    latency: async (msg) => {
      if (!events) {
        events = new QueueEvents(queueName, { connection });
        await events.waitUntilReady();
      }
      const latenciesMs: number[] = [];
      for (let i = 0; i < numberField(msg, "count"); i++) {
        const t = performance.now();
        const job = await queue.add("lat", { i });
        await job.waitUntilFinished(events, 30_000);
        latenciesMs.push(performance.now() - t);
      }
      return { type: "done", latenciesMs };
    },
    flow: async (msg) => {
      flows ??= new FlowProducer({ connection });
      const children = Array.from({ length: numberField(msg, "count") }, (_, i) => ({
        name: "child",
        queueName,
        data: { i },
        opts: JOB_OPTS,
      }));
      const t0 = epochMs();
      await flows.add({ name: JobNames.parent, queueName, data: {}, opts: JOB_OPTS, children });
      return { type: "done", t0, t1: epochMs() };
    },
    chain: async (msg): Promise<ChildMessage> => {
      const total = numberField(msg, "count");
      const t0 = epochMs();
      await queue.add(total === 1 ? JobNames.last : JobNames.step, { step: 1, total });
      return { type: "done", t0 };
    },
    flaky: async (msg) => {
      const t0 = epochMs();
      await addInChunks(numberField(msg, "count"), JobNames.flaky, {
        ...JOB_OPTS,
        attempts: 3,
        backoff: { type: "fixed", delay: 10 },
      });
      return { type: "done", t0, t1: epochMs() };
    },
    obliterate: async () => {
      await queue.obliterate({ force: true });
      return { type: "done" };
    },
  },
  async () => {
    await events?.close();
    await flows?.close();
    await queue.close();
  },
);

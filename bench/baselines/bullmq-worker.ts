/**
 * @module
 * BullMQ baseline worker process: one `Worker` with concurrency 50. MODE picks the processor: `noop`;
 * `chain`, where each step adds the next one (P4); `flaky`, where `flaky` jobs fail twice, then succeed (P6).
 * On `{type: "expect", count?, name?}` it reports `{type: "reached", at}` when that many jobs completed since,
 * or when a job with that name completed — observed here, so no QueueEvents stream reader adds load.
 */
import { Queue, Worker, type Job } from "bullmq";
import { epochMs } from "../lib/clock.ts";
import { requireEnv, send, serve } from "../lib/child-side.ts";
import { CONCURRENCY, connectionFor, JOB_OPTS, JobNames, type WorkerMode } from "./bullmq-config.ts";

const connection = connectionFor(requireEnv("REDIS_URL"));
const queueName = requireEnv("QUEUE");
const mode = requireEnv("MODE") as WorkerMode;
const chainQueue =
  mode === "chain" ? new Queue(queueName, { connection, defaultJobOptions: JOB_OPTS }) : undefined;

type StepData = { step: number; total: number };

async function processJob(job: Job): Promise<void> {
  if (mode === "chain" && chainQueue && (job.name === JobNames.step || job.name === JobNames.last)) {
    const { step, total } = job.data as StepData;
    if (step < total) {
      await chainQueue.add(step + 1 === total ? JobNames.last : JobNames.step, { step: step + 1, total });
    }
  } else if (mode === "flaky" && job.name === JobNames.flaky && job.attemptsMade < 2) {
    throw new Error("planned failure");
  }
}

let completed = 0;
let target: { count?: number; name?: string } | undefined;
const worker = new Worker(queueName, processJob, { connection, concurrency: CONCURRENCY });
worker.on("completed", (job: Job) => {
  completed++;
  if (!target) return;
  if (completed === target.count || (target.name !== undefined && job.name === target.name)) {
    target = undefined;
    send({ type: "reached", at: epochMs() });
  }
});
// Without a listener an 'error' event would crash the process; report it instead.
worker.on("error", (err) => process.stderr.write(`[bullmq worker] ${err.message}\n`));
await worker.waitUntilReady();
await chainQueue?.waitUntilReady();

serve(
  {
    expect: (msg) => {
      completed = 0;
      target = {};
      if (typeof msg.count === "number") target.count = msg.count;
      if (typeof msg.name === "string") target.name = msg.name;
      // Answered before the producer starts, so no completion is counted before the reset.
      return { type: "done" };
    },
  },
  async () => {
    await worker.close();
    await chainQueue?.close();
  },
);

/**
 * @module
 * A 100,000-member batch made cheaply for the console's page test: its workflow record written straight
 * into `jetbus-workflows` (what the dispatcher would have written, with 60 % of members done) and a page's
 * worth of failed members as dead letters on the batch's subject token. The page reads exactly these (one
 * record, one page of letters), so its cost is that of a real batch of this size; running 100,000 jobs
 * would only make the test slower.
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { Bitmap } from "../../shared/core/bitmap.ts";
import { memberJobId } from "../../shared/core/ids.ts";
import type { BatchState } from "../../shared/core/types.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { openBuckets } from "../../shared/nats/provision.ts";
import type { DeadLetter } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";

export async function writeBigBatch(
  nc: NatsConnection,
  id: string,
  type: string,
  size: number,
  letters: number,
): Promise<BatchState> {
  const processed = Math.floor(size * 0.6);
  const done = Bitmap.empty();
  for (let i = 0; i < processed; i++) done.set(i);
  const now = Date.now();
  const state: BatchState = {
    kind: "batch",
    id,
    dispatchId: `dsp_${id}`,
    queue: "default",
    callbacks: { then: { type, queue: "default", payload: null, options: {} } },
    claims: {},
    failure: null,
    createdAt: now,
    updatedAt: now,
    name: "hundred-thousand",
    allowFailures: true,
    sealed: true,
    total: size,
    processed,
    failed: letters,
    skipped: 0,
    cancelled: false,
    completed: false,
    done: done.encode(size),
    members: [["default", type, size]],
    progressPublished: 0,
  };
  const store = new KvWorkflowStore((await openBuckets(nc)).workflows);
  await store.write({ kind: "batch", id }, { state, outbox: [] }, null);
  const js = jetstream(nc);
  for (let i = 0; i < letters; i++) {
    const letter: DeadLetter = {
      v: 1,
      reason: "exhausted",
      envelope: {
        v: 1,
        job_id: memberJobId(id, i * 7),
        dispatch_id: `dsp_${id}`,
        type,
        queue: "default",
        payload: { i: i * 7 },
        options: {},
        attempt: 0,
        enqueued_at: now,
        batch: { id, index: i * 7 },
      },
      source_subject: subjects.job("default", type),
      error: { code: "HANDLER_ERROR", message: `member ${i * 7} failed`, retryable: true },
      attempts: 1,
      failed_at: now,
    };
    await js.publish(subjects.deadLetter("default", type, id), JSON.stringify(letter));
  }
  return state;
}

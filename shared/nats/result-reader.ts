/**
 * @module
 * Finding a plain job's result after the fact (`bus.wait`, a worker that got a job again after a lost ack): a
 * time-ordered dispatch id's result is in the batches on its results subject (found through this process's
 * {@link ResultIndex}, which reads each subject once and then only what is new), or on its own in
 * `jetbus-results` when it was too big for a batch; any other id's in `jetbus-results`. Every stored value is
 * checked against its schema: anyone can publish to these subjects, and a bad one is skipped.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { keys } from "../protocol/names.ts";
import { decodeResultRecord, dispatchTime, pickResult, resultSubject } from "../protocol/results.ts";
import type { ResultRecord } from "../protocol/schemas.ts";
import { resultIndexOf, windowStartOf } from "./result-index.ts";

/** A job's result, and the latest replay of it (0 when never replayed): runs before it no longer count. */
export interface FoundResult {
  record: ResultRecord | null;
  replayed: number;
}

export async function findResultAndReplay(
  jsm: JetStreamManager,
  bucket: KV,
  dispatchId: string,
): Promise<FoundResult> {
  const own = bucket
    .get(keys.result(dispatchId))
    .then((e) => (e && e.operation === "PUT" ? decodeResultRecord(e.value) : null));
  const subject = resultSubject(dispatchId);
  if (!subject) return { record: await own, replayed: 0 };
  const [big, batched, marker] = await Promise.all([
    own,
    resultIndexOf(jsm).find(subject, dispatchId, windowStartOf(dispatchTime(dispatchId)!)),
    bucket.get(keys.replayMarker(dispatchId)),
  ]);
  if (big) batched.push(big);
  // Results of runs before the latest replay are history: the replayed run's is the one to wait for.
  const replayed = marker && marker.operation === "PUT" ? Number(marker.string()) || 0 : 0;
  return { record: pickResult(batched.filter((r) => (r.replay ?? 0) >= replayed)), replayed };
}

export async function findResult(
  jsm: JetStreamManager,
  bucket: KV,
  dispatchId: string,
): Promise<ResultRecord | null> {
  return (await findResultAndReplay(jsm, bucket, dispatchId)).record;
}

/**
 * Before a dead letter is replayed as run `replay`: earlier results of its job no longer answer `bus.wait`.
 * Batched records cannot be removed, so a marker says which runs no longer count; it is written first, so a
 * reader never sees the old record gone without the marker that explains it.
 */
export async function forgetResult(bucket: KV, dispatchId: string, replay: number): Promise<void> {
  if (resultSubject(dispatchId)) await bucket.put(keys.replayMarker(dispatchId), String(replay));
  await bucket.purge(keys.result(dispatchId));
}

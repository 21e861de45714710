/**
 * @module
 * Finding a plain job's result after the fact (`bus.wait`, a worker that got a job again after a lost ack): a
 * time-ordered dispatch id's result is in the batches on its results subject, read with direct gets (at most a
 * window's worth of batches of one shard), or on its own in `jetbus-results` when it was too big for a batch;
 * any other id's in `jetbus-results`. Every stored value is
 * checked against its schema: anyone can publish to these subjects, and a bad one is skipped.
 */
import { JetStreamError, type JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { keys, STREAMS } from "../protocol/names.ts";
import { ResultRecord as ResultRecordSchema } from "../protocol/outcome.ts";
import { CLOCK_SKEW_MS, dispatchTime, pickResult, ResultBatch, resultSubject } from "../protocol/results.ts";
import type { ResultRecord } from "../protocol/schemas.ts";
import { check, parseJson } from "../protocol/validate.ts";

const PAGE = 256;

function decode<T>(data: Uint8Array, ok: (v: unknown) => v is T): T | null {
  try {
    const v = parseJson(data, "stored result");
    return ok(v) ? v : null;
  } catch {
    return null;
  }
}

const isBatch = (v: unknown): v is ResultBatch => check(ResultBatch, v);
const isRecord = (v: unknown): v is ResultRecord => check(ResultRecordSchema, v);

export async function findResult(
  jsm: JetStreamManager,
  bucket: KV,
  dispatchId: string,
): Promise<ResultRecord | null> {
  const own = bucket
    .get(keys.result(dispatchId))
    .then((e) => (e && e.operation === "PUT" ? decode(e.value, isRecord) : null));
  const subject = resultSubject(dispatchId);
  if (!subject) return own;
  const [big, batched, marker] = await Promise.all([
    own,
    readBatched(jsm, subject, dispatchId),
    bucket.get(keys.replayMarker(dispatchId)),
  ]);
  if (big) batched.push(big);
  // Results of runs before the latest replay are history: the replayed run's is the one to wait for.
  const replayed = marker && marker.operation === "PUT" ? Number(marker.string()) || 0 : 0;
  return pickResult(batched.filter((r) => (r.replay ?? 0) >= replayed));
}

/**
 * Every record of `dispatchId` in the batches on `subject`, in stream order. A result is stored after its job
 * was dispatched, so the read starts at the dispatch time the id carries (less a minute for clock skew between
 * the client that made the id and the server): only the batches stored since are read.
 */
async function readBatched(
  jsm: JetStreamManager,
  subject: string,
  dispatchId: string,
): Promise<ResultRecord[]> {
  const found: ResultRecord[] = [];
  const from = new Date(Math.max(0, (dispatchTime(dispatchId) ?? 0) - CLOCK_SKEW_MS));
  for (let seq = 0; ;) {
    let n = 0;
    try {
      const page = await jsm.direct.getBatch(
        STREAMS.results,
        seq === 0
          ? { start_time: from, next_by_subj: subject, batch: PAGE }
          : { seq, next_by_subj: subject, batch: PAGE },
      );
      for await (const sm of page) {
        n++;
        seq = sm.seq + 1;
        for (const r of decode(sm.data, isBatch)?.results ?? [])
          if (r.dispatch_id === dispatchId) found.push(r);
      }
    } catch (err) {
      // No (more) messages on the subject: the server answers "not found" rather than an empty batch.
      // (a JetStreamStatusError, which the package entry exports only as its base class).
      if (!(err instanceof JetStreamError && (err as { code?: unknown }).code === 404)) throw err;
    }
    if (n < PAGE) return found;
  }
}

/**
 * Before a dead letter is replayed as run `replay`: earlier results of its job no longer answer `bus.wait`.
 * A record of its own is removed; batched ones cannot be, so a marker says which runs no longer count.
 */
export async function forgetResult(bucket: KV, dispatchId: string, replay: number): Promise<void> {
  await bucket.purge(keys.result(dispatchId));
  if (resultSubject(dispatchId)) await bucket.put(keys.replayMarker(dispatchId), String(replay));
}

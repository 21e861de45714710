/**
 * @module
 * Sending chains and batches to the dispatcher. A batch is created in chunks (create → append… → seal), each
 * well under the server's max payload, so a 100,000-member batch is as easy as a 3-member one.
 */
import { newId } from "../ids.ts";
import { REQUEST_SUBJECTS } from "../protocol/subjects.ts";
import type { JobRequest, WorkflowOk } from "../protocol/schemas.ts";
import type { BatchSpec, ChainSpec } from "./builders.ts";
import { toJobRequest, type Job } from "./job.ts";
import type { Requester } from "./requester.ts";

/**
 * Members per request. 10,000 gave no more throughput (P1: 9.7k/s against 10.0k/s) and ~30 MB more dispatcher
 * memory, and a big request risks its time-out on a busy dispatcher.
 */
const MAX_CHUNK_JOBS = 1_000;

function optional(j: Job | undefined): JobRequest | undefined {
  return j ? toJobRequest(j) : undefined;
}

export async function sendChain(requester: Requester, spec: ChainSpec): Promise<string> {
  const chainId = newId("chn");
  const req = {
    v: 1,
    chain_id: chainId,
    dispatch_id: newId("dsp"),
    jobs: spec.jobs.map((j) => toJobRequest(j)),
    ...(spec.queue ? { queue: spec.queue } : {}),
    ...(spec.catch ? { catch: optional(spec.catch) } : {}),
    ...(spec.finally ? { finally: optional(spec.finally) } : {}),
  };
  await requester.request<WorkflowOk>(REQUEST_SUBJECTS.chain, req);
  return chainId;
}

/** Splits member requests into chunks under both a count and a byte budget. */
export function chunk(requests: JobRequest[], maxBytes: number, maxJobs = MAX_CHUNK_JOBS): JobRequest[][] {
  const out: JobRequest[][] = [];
  let cur: JobRequest[] = [];
  let bytes = 0;
  for (const r of requests) {
    const size = JSON.stringify(r).length + 1;
    if (cur.length > 0 && (cur.length >= maxJobs || bytes + size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export async function sendBatch(
  requester: Requester,
  spec: BatchSpec,
  maxPayloadBytes: number,
): Promise<string> {
  const batchId = newId("bat");
  const chunks = chunk(
    spec.jobs.map((j) => toJobRequest(j)),
    Math.floor(maxPayloadBytes / 2),
  );
  const create = {
    v: 1,
    batch_id: batchId,
    dispatch_id: newId("dsp"),
    allow_failures: spec.allowFailures,
    jobs: chunks[0],
    seal: chunks.length === 1,
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.queue ? { queue: spec.queue } : {}),
    ...(spec.then ? { then: optional(spec.then) } : {}),
    ...(spec.catch ? { catch: optional(spec.catch) } : {}),
    ...(spec.finally ? { finally: optional(spec.finally) } : {}),
    ...(spec.progress ? { progress: optional(spec.progress) } : {}),
  };
  await requester.request<WorkflowOk>(REQUEST_SUBJECTS.batchCreate, create);
  let offset = chunks[0]!.length;
  for (let i = 1; i < chunks.length; i++) {
    const jobs = chunks[i]!;
    await requester.request<WorkflowOk>(REQUEST_SUBJECTS.batchAppend, {
      v: 1,
      batch_id: batchId,
      offset,
      jobs,
      seal: i === chunks.length - 1,
    });
    offset += jobs.length;
  }
  return batchId;
}

/**
 * @module
 * What the console shows, derived from the records it reads: a batch's or chain's page from its workflow
 * record (one KV read, whatever the batch's size), and a (queue, type)'s health from two consumer-info
 * readings. Pure: the console's routes bring the records and the clock.
 */
import type { ErrorBody } from "../protocol/schemas.ts";
import type { BatchState, CallbackClaims, CallbackSpecs, ChainState } from "./types.ts";

export type CallbackRow = {
  kind: "then" | "catch" | "finally" | "progress";
  /** the job type the callback runs */
  type: string;
  /** published (claimed), succeeded or failed; "not fired" while it may still fire, "never" once it cannot */
  status: "published" | "succeeded" | "failed" | "not fired" | "never";
  /** progress callbacks published so far */
  count?: number;
};

function callbackRows(
  specs: CallbackSpecs,
  claims: CallbackClaims,
  ended: boolean,
  progress = 0,
): CallbackRow[] {
  const rows: CallbackRow[] = [];
  for (const kind of ["then", "catch", "finally"] as const) {
    const spec = specs[kind];
    if (!spec) continue;
    const claim = claims[kind];
    rows.push({ kind, type: spec.type, status: claim ? claim.status : ended ? "never" : "not fired" });
  }
  if (specs.progress)
    rows.push({
      kind: "progress",
      type: specs.progress.type,
      status: progress > 0 ? "published" : "not fired",
      count: progress,
    });
  return rows;
}

export interface BatchPage {
  kind: "batch";
  id: string;
  dispatchId: string;
  name: string;
  queue: string;
  state: "creating" | "running" | "completed" | "completed with failures" | "cancelled";
  total: number;
  pending: number;
  processed: number;
  failed: number;
  skipped: number;
  allowFailures: boolean;
  failure: ErrorBody | null;
  callbacks: CallbackRow[];
  /** member (queue, type, count) runs in index order, the first MAX_MEMBER_RUNS of them */
  members: { queue: string; type: string; count: number }[];
  membersTruncated: boolean;
  createdAt: number;
  updatedAt: number;
}

export const MAX_MEMBER_RUNS = 50;

export function batchPage(s: BatchState): BatchPage {
  const state: BatchPage["state"] = s.cancelled
    ? "cancelled"
    : s.completed
      ? s.failed > 0
        ? "completed with failures"
        : "completed"
      : s.sealed
        ? "running"
        : "creating";
  return {
    kind: "batch",
    id: s.id,
    dispatchId: s.dispatchId,
    name: s.name,
    queue: s.queue,
    state,
    total: s.total,
    pending: s.total - s.processed,
    processed: s.processed,
    failed: s.failed,
    skipped: s.skipped,
    allowFailures: s.allowFailures,
    failure: s.failure,
    callbacks: callbackRows(s.callbacks, s.claims, s.completed, s.progressPublished),
    members: s.members.slice(0, MAX_MEMBER_RUNS).map(([queue, type, count]) => ({ queue, type, count })),
    membersTruncated: s.members.length > MAX_MEMBER_RUNS,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export interface ChainNode {
  index: number;
  type: string;
  queue: string;
  state: "succeeded" | "running" | "failed" | "pending" | "skipped";
}

export interface ChainPage {
  kind: "chain";
  id: string;
  dispatchId: string;
  queue: string;
  state: "running" | "completed" | "failed";
  nodes: ChainNode[];
  failure: ErrorBody | null;
  callbacks: CallbackRow[];
  createdAt: number;
  updatedAt: number;
}

export function chainPage(s: ChainState): ChainPage {
  const nodes = s.nodes.map((n, index): ChainNode => {
    const state: ChainNode["state"] =
      index < s.nextIndex
        ? "succeeded"
        : index === s.nextIndex
          ? s.failed
            ? "failed"
            : s.completed
              ? "succeeded"
              : "running"
          : s.failed
            ? "skipped"
            : "pending";
    return { index, type: n.type, queue: n.queue, state };
  });
  return {
    kind: "chain",
    id: s.id,
    dispatchId: s.dispatchId,
    queue: s.queue,
    state: s.failed ? "failed" : s.completed ? "completed" : "running",
    nodes,
    failure: s.failure,
    callbacks: callbackRows(s.callbacks, s.claims, s.completed),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** One consumer-info reading of a (queue, type): cumulative deliveries finished, and when. */
export interface ConsumerSample {
  finished: number;
  at: number;
}

export interface TypeHealth {
  /** jobs finished per second since the previous reading (null on the first) */
  rate: number | null;
  /** registry records serving it, or 1 for a foreign worker seen only by its waiting pull requests */
  liveWorkers: number;
  /** jobs are waiting and nobody serves them: highlighted */
  noWorker: boolean;
}

export function typeHealth(
  row: { ready: number; delayed: number; inFlight: number; workers: number; pullRequests: number },
  prev: ConsumerSample | undefined,
  now: ConsumerSample | undefined,
): TypeHealth {
  const liveWorkers = row.workers > 0 ? row.workers : row.pullRequests > 0 ? 1 : 0;
  const rate =
    prev && now && now.at > prev.at
      ? Math.max(0, ((now.finished - prev.finished) * 1000) / (now.at - prev.at))
      : null;
  return { rate, liveWorkers, noWorker: liveWorkers === 0 && row.ready + row.delayed + row.inFlight > 0 };
}

/** Jaeger's search for one dispatch's trace (docs/observability.md: the tag `jetbus.dispatch_id`). */
export function traceUrl(jaegerUrl: string | null, dispatchId: string): string | null {
  if (!jaegerUrl) return null;
  const tags = encodeURIComponent(JSON.stringify({ "jetbus.dispatch_id": dispatchId }));
  return `${jaegerUrl}/search?service=jetbus-dispatcher&tags=${tags}`;
}

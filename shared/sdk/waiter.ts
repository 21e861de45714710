/**
 * @module
 * `bus.wait(id)`: subscribe to `jetbus.done.<id>` (and, for a job not watched since its dispatch, which may
 * have been sent without notices, to where its record is stored: result-feed.ts) first, then read the stored
 * record (so an outcome recorded before the call, or by another process, is found), then wait for whichever
 * comes first. Plain jobs' results are kept for JETBUS_RESULT_TTL_MS (`findResult`); chains and batches until
 * pruned.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { findResultAndReplay } from "../nats/result-reader.ts";
import { fromErrorBody, TimeoutError } from "../protocol/errors.ts";
import { keys } from "../protocol/names.ts";
import type { DoneNotice, ResultRecord } from "../protocol/schemas.ts";
import { subscribeDoneNotices, type EarlyNotices, type NoticeFollower } from "./early-notices.ts";
import type { ResultFeed } from "./result-feed.ts";
import type { Buckets } from "../nats/provision.ts";
import { onReconnect } from "../nats/reconnects.ts";
import { workflowView, isTerminal } from "../core/views.ts";
import type { StoredWorkflow } from "../workflow/store.ts";
import type { WaitOutcome } from "./types.ts";
import { workflowInfo } from "../protocol/workflow-info.ts";

function fromRecord(r: ResultRecord): WaitOutcome {
  return r.status === "succeeded"
    ? { status: "succeeded", result: r.result, attempts: r.attempts }
    : {
        status: "failed",
        error: fromErrorBody(r.error ?? { code: "HANDLER_ERROR", message: "failed", retryable: false }),
        attempts: r.attempts,
      };
}

function fromWorkflow(w: StoredWorkflow): WaitOutcome | null {
  if (!isTerminal(w.state)) return null;
  const info = workflowInfo(workflowView(w.state));
  const failed = w.state.kind === "chain" ? w.state.failed : w.state.cancelled;
  return failed && w.state.failure
    ? { status: "failed", error: fromErrorBody(w.state.failure), attempts: 1 }
    : { status: "succeeded", result: info, attempts: 1 };
}

/** What the stores say of `id`: its outcome if recorded, and the latest replay of it (older runs do not count). */
interface Lookup {
  outcome: WaitOutcome | null;
  replayed: number;
}

const UNKNOWN: Lookup = { outcome: null, replayed: 0 };

async function lookup(jsm: JetStreamManager, buckets: Buckets, id: string): Promise<Lookup> {
  const kinds = id.startsWith("chn_")
    ? ["chain"]
    : id.startsWith("bat_")
      ? ["batch"]
      : id.startsWith("dsp_")
        ? []
        : ["chain", "batch"];
  const [result, ...workflows] = await Promise.all([
    isWorkflowId(id) ? null : findResultAndReplay(jsm, buckets.results, id),
    ...kinds.map((k) => buckets.workflows.get(keys.workflow(k as "chain" | "batch", id))),
  ]);
  if (result?.record) return { outcome: fromRecord(result.record), replayed: result.replayed };
  for (const w of workflows)
    if (w && w.operation === "PUT") return { outcome: fromWorkflow(w.json<StoredWorkflow>()), replayed: 0 };
  return { outcome: null, replayed: result?.replayed ?? 0 };
}

/** A read that fails (a reconnect, a time-out) says nothing: the wait goes on. */
const lookupOrUnknown = (jsm: JetStreamManager, buckets: Buckets, id: string): Promise<Lookup> =>
  lookup(jsm, buckets, id).catch(() => UNKNOWN);

/** One notice at a time from `jetbus.done.<id>`, decoded; only the first is kept until asked for. */
function subscribeNotices(nc: NatsConnection, id: string): NoticeFollower {
  let kept: DoneNotice | null = null;
  const waiting: ((n: DoneNotice) => void)[] = [];
  const sub = subscribeDoneNotices(nc, id, (n) => {
    const w = waiting.shift();
    if (w) w(n);
    else kept ??= n;
  });
  return {
    next: () => {
      const n = kept;
      kept = null;
      return n ? Promise.resolve(n) : new Promise((resolve) => waiting.push(resolve));
    },
    done: () => sub.unsubscribe(),
  };
}

/** When a wait reads the stored record again: a lost notice is rare, and thousands of waits may be open. */
const POLL = { firstMs: 250, maxMs: 5_000 };

/** Ids of workflows: they end with a done notice, never with a result record. */
const isWorkflowId = (id: string) => id.startsWith("chn_") || id.startsWith("bat_");

/**
 * Waits for `id`'s outcome: a notice caught since the dispatch (`early`), the stored record, the next notice, or
 * (for a job not watched since its dispatch, which may have been sent without notices) its record as it is
 * stored (`feed`), whichever comes first. Bad notices are ignored, and so are notices of runs before the latest replay. The
 * stored record is read at once (unless the id was watched since its dispatch, so its notice cannot have been
 * missed), again after 250 ms and then at doubling gaps up to 5 s (a notice is at most once: one lost to a slow connection
 * must not hang the wait), and on every reconnect (a notice published while the connection was down is gone).
 */
export async function waitForOutcome(
  nc: NatsConnection,
  jsm: JetStreamManager,
  buckets: Buckets,
  id: string,
  timeoutMs: number,
  early?: EarlyNotices,
  feed?: ResultFeed,
): Promise<WaitOutcome> {
  const caught = early?.follow(id) ?? null;
  const source = caught ?? subscribeNotices(nc, id);
  let waiting = true;
  let replayed = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopReconnect = () => undefined as void;
  let stopPolling = () => undefined as void;
  let stopFeed = () => undefined as void;
  try {
    return await new Promise<WaitOutcome>((resolve, reject) => {
      const settle = (l: Lookup) => {
        replayed = Math.max(replayed, l.replayed);
        if (l.outcome && waiting) resolve(l.outcome);
      };
      const read = () => {
        if (waiting) void lookupOrUnknown(jsm, buckets, id).then(settle);
      };
      timer = setTimeout(
        () => reject(new TimeoutError(`no outcome for ${id} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      stopReconnect = onReconnect(nc, read);
      // Before the first read, so a record stored after it is caught here.
      if (!caught && feed && !isWorkflowId(id))
        stopFeed = feed.follow(id, (r) => {
          if (waiting && (r.replay ?? 0) >= replayed) resolve(fromRecord(r));
        });
      if (!caught) read();
      let gap = POLL.firstMs;
      let poll = setTimeout(function again() {
        read();
        gap = Math.min(gap * 2, POLL.maxMs);
        poll = setTimeout(again, gap);
        poll.unref();
      }, gap);
      poll.unref();
      stopPolling = () => clearTimeout(poll);
      void (async () => {
        while (waiting) {
          const n = await source.next();
          if (!waiting) return;
          if (n.kind === "job") {
            if ((n.record.replay ?? 0) >= replayed) resolve(fromRecord(n.record));
            continue;
          }
          // A workflow's notice says it ended; its record says how.
          settle(await lookupOrUnknown(jsm, buckets, id));
        }
      })();
    });
  } finally {
    waiting = false;
    clearTimeout(timer);
    stopPolling();
    stopFeed();
    stopReconnect();
    source.done();
  }
}

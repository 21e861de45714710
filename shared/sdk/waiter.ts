/**
 * @module
 * `bus.wait(id)` without polling: subscribe to `jetbus.done.<id>` first, then read the stored record (so an
 * outcome recorded before the call, or by another process, is found), then wait for the notice. Plain jobs'
 * results are kept for JETBUS_RESULT_TTL_MS (`findResult`); chains and batches until pruned.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { findResult } from "../nats/result-reader.ts";
import { fromErrorBody, TimeoutError } from "../protocol/errors.ts";
import { keys } from "../protocol/names.ts";
import { DoneNotice as DoneNoticeSchema } from "../protocol/outcome.ts";
import type { DoneNotice, ResultRecord } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { check, parseJson } from "../protocol/validate.ts";
import type { EarlyNotices } from "./early-notices.ts";
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

async function lookup(jsm: JetStreamManager, buckets: Buckets, id: string): Promise<WaitOutcome | null> {
  const kinds = id.startsWith("chn_")
    ? ["chain"]
    : id.startsWith("bat_")
      ? ["batch"]
      : id.startsWith("dsp_")
        ? []
        : ["chain", "batch"];
  const [result, ...workflows] = await Promise.all([
    id.startsWith("chn_") || id.startsWith("bat_") ? null : findResult(jsm, buckets.results, id),
    ...kinds.map((k) => buckets.workflows.get(keys.workflow(k as "chain" | "batch", id))),
  ]);
  if (result) return fromRecord(result);
  for (const w of workflows) if (w && w.operation === "PUT") return fromWorkflow(w.json<StoredWorkflow>());
  return null;
}

/** The stored outcome, read after 250 ms and then every 2 s while `still()` (a fallback for a lost notice). */
async function readLater(
  jsm: JetStreamManager,
  buckets: Buckets,
  id: string,
  still: () => boolean,
): Promise<WaitOutcome | null> {
  for (let wait = 250; still(); wait = 2_000) {
    await new Promise((r) => setTimeout(r, wait).unref());
    if (!still()) break;
    const found = await lookup(jsm, buckets, id).catch(() => null);
    if (found) return found;
  }
  return null;
}

/** One notice at a time from `jetbus.done.<id>`; `done()` ends it. */
interface NoticeSource {
  next: () => Promise<Uint8Array>;
  done: () => void;
}

function subscribeNotices(nc: NatsConnection, id: string): NoticeSource {
  const caught: Uint8Array[] = [];
  const waiting: ((d: Uint8Array) => void)[] = [];
  const sub = nc.subscribe(subjects.done(id), {
    callback: (err, m) => {
      if (err) return;
      const w = waiting.shift();
      if (w) w(m.data);
      else caught.push(m.data);
    },
  });
  return {
    next: () => {
      const d = caught.shift();
      return d ? Promise.resolve(d) : new Promise((resolve) => waiting.push(resolve));
    },
    done: () => sub.unsubscribe(),
  };
}

/** A notice for `id`, or null for anything else published there (anyone can publish to the subject). */
function decodeNotice(data: Uint8Array, id: string): DoneNotice | null {
  let n: unknown;
  try {
    n = parseJson(data, "done notice");
  } catch {
    return null;
  }
  if (!check(DoneNoticeSchema, n)) return null;
  return (n.kind === "job" ? n.record.dispatch_id : n.id) === id ? n : null;
}

/**
 * Waits for `id`'s outcome: a notice caught since the dispatch (`early`), the stored record, or the next notice,
 * whichever comes first; bad notices are ignored.
 */
export async function waitForOutcome(
  nc: NatsConnection,
  jsm: JetStreamManager,
  buckets: Buckets,
  id: string,
  timeoutMs: number,
  early?: EarlyNotices,
): Promise<WaitOutcome> {
  const caught = early?.follow(id) ?? null;
  const source = caught ?? subscribeNotices(nc, id);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopReread = () => undefined as void;
  let waiting = true;
  try {
    const notice = (async (): Promise<WaitOutcome | null> => {
      while (waiting) {
        const n = decodeNotice(await source.next(), id);
        if (!n) continue;
        if (n.kind === "job") return fromRecord(n.record);
        const found = await lookup(jsm, buckets, id).catch(() => null);
        if (found) return found;
      }
      return null;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`no outcome for ${id} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    // A notice published while our connection was down is lost (and a read sent then is never answered):
    // read the stored record again on reconnect.
    const reread = new Promise<WaitOutcome>((resolve) => {
      stopReread = onReconnect(nc, () => {
        lookup(jsm, buckets, id).then(
          (found) => found && resolve(found),
          () => undefined,
        );
      });
    });
    // Watched since before its dispatch, a job's notice cannot have been missed: the stored record is read only
    // if none comes soon (a notice lost in a reconnect is covered by `reread`). Otherwise read it now: the job
    // may have finished before we subscribed.
    const stored = caught
      ? readLater(jsm, buckets, id, () => waiting)
      : lookup(jsm, buckets, id).catch(() => null);
    const first = await Promise.race([notice, stored, timeout]);
    if (first) return first;
    const outcome = await Promise.race([notice, reread, timeout]);
    if (!outcome) throw new TimeoutError(`no outcome for ${id}: the wait ended`);
    return outcome;
  } finally {
    waiting = false;
    clearTimeout(timer);
    stopReread();
    source.done();
  }
}

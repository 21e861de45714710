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
import type { DoneNotice, ResultRecord } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { parseJson } from "../protocol/validate.ts";
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

export async function waitForOutcome(
  nc: NatsConnection,
  jsm: JetStreamManager,
  buckets: Buckets,
  id: string,
  timeoutMs: number,
): Promise<WaitOutcome> {
  const sub = nc.subscribe(subjects.done(id));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopReread = () => undefined as void;
  try {
    const notice = (async (): Promise<WaitOutcome | null> => {
      for await (const m of sub) {
        const n = parseJson(m.data, "done notice") as DoneNotice;
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
    const stored = await Promise.race([lookup(jsm, buckets, id).catch(() => null), timeout]);
    if (stored) return stored;
    const outcome = await Promise.race([notice, reread, timeout]);
    if (!outcome) throw new TimeoutError(`no outcome for ${id}: the connection closed`);
    return outcome;
  } finally {
    clearTimeout(timer);
    stopReread();
    sub.unsubscribe();
  }
}

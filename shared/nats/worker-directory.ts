/**
 * @module
 * The reading side of the worker registry (`jetbus-workers`; `shared/worker/registry-heartbeat.ts` writes it):
 * a one-off listing (`listWorkers`), and a live view for long-running readers such as the coordinator,
 * kept by a KV watch instead of listing the bucket on every pass. A listing races the heartbeats that rewrite
 * its keys and can stall for seconds (see `listKeys`), which froze the reconciler's gauges; a watch just
 * applies each heartbeat as it comes. Records of dead workers age out by their heartbeat time (`isLive`),
 * since the bucket's age limit removes messages without telling a watcher.
 */
import { delay } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { WorkerRecord } from "../protocol/schemas.ts";
import type { Logger } from "../telemetry/logger.ts";
import { keys } from "../protocol/names.ts";
import { listKeys } from "./kv.ts";
import { WorkerRecord as WorkerRecordSchema } from "../protocol/worker-record.ts";
import { check, parseJson } from "../protocol/validate.ts";
import { skipInvalid } from "../telemetry/invalid-message.ts";

/** Dead workers' records are forgotten this long after their last heartbeat (they are not live long before). */
const FORGET_AFTER_MS = 10 * 60_000;

export function isLive(r: WorkerRecord, now: number): boolean {
  return now - r.heartbeat_at < r.heartbeat_ms * 3;
}

/**
 * A registry record as read, or null (logged and counted) for one that is not a worker record: anyone may
 * write the bucket, and one bad record must not stop the reconciler or `jetbus queues`.
 */
export function readWorkerRecord(key: string, data: Uint8Array, log?: Logger): WorkerRecord | null {
  let v: unknown;
  try {
    v = parseJson(data, "worker record");
  } catch {
    skipInvalid(log, "workers", "undecodable", { key });
    return null;
  }
  if (!check(WorkerRecordSchema, v)) {
    skipInvalid(log, "workers", "schema", { key });
    return null;
  }
  return v;
}

export async function listWorkers(kv: KV, now = Date.now(), log?: Logger): Promise<WorkerRecord[]> {
  const out: WorkerRecord[] = [];
  for (const k of await listKeys(kv)) {
    const e = await kv.get(k);
    if (!e || e.operation !== "PUT") continue;
    // a record we cannot read is skipped; it expires with the bucket's age limit
    const r = readWorkerRecord(k, e.value, log);
    if (r && isLive(r, now)) out.push(r);
  }
  return out;
}

export class WorkerDirectory {
  private readonly records = new Map<string, WorkerRecord>();
  private stopWatch: (() => void) | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Starts watching, and seeds the view with one listing so the first reader sees every live worker. */
  async start(): Promise<void> {
    this.loop = this.watchForever();
    try {
      for (const r of await listWorkers(this.kv, Date.now(), this.log)) this.apply(keys.worker(r.id), r);
    } catch (err) {
      this.log.warn({ err: String(err) }, "could not list the worker registry; the watch fills it in");
    }
  }

  /** The workers whose heartbeat is recent, as of `now`. */
  live(now = Date.now()): WorkerRecord[] {
    const out: WorkerRecord[] = [];
    for (const [key, r] of this.records) {
      if (isLive(r, now)) out.push(r);
      else if (now - r.heartbeat_at > FORGET_AFTER_MS) this.records.delete(key);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    await this.loop;
  }

  private apply(key: string, r: WorkerRecord | null): void {
    if (r === null) {
      this.records.delete(key);
      return;
    }
    const cur = this.records.get(key);
    if (!cur || cur.heartbeat_at <= r.heartbeat_at) this.records.set(key, r);
  }

  /** A watch ends when its consumer is lost for good (e.g. the bucket was recreated): start another. */
  private async watchForever(): Promise<void> {
    while (!this.stopped) {
      try {
        const w = await this.kv.watch();
        this.stopWatch = () => w.stop();
        if (this.stopped) w.stop();
        for await (const e of w) {
          if (e.operation !== "PUT") this.apply(e.key, null);
          else {
            const r = readWorkerRecord(e.key, e.value, this.log);
            if (r) this.apply(keys.worker(r.id), r);
          }
        }
      } catch (err) {
        if (!this.stopped) this.log.warn({ err: String(err) }, "worker registry watch failed; restarting it");
      }
      if (!this.stopped) await delay(1_000);
    }
  }
}

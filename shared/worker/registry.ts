/**
 * @module
 * Announces what this worker serves in `jetbus-workers`, refreshed by heartbeat; removed on shutdown. A record
 * whose heartbeat is older than three intervals belongs to a dead worker.
 */
import { hostname } from "node:os";
import type { KV } from "@nats-io/kv";
import { listKeys } from "../nats/kv.ts";
import { keys } from "../protocol/names.ts";
import type { WorkerRecord } from "../protocol/schemas.ts";
import type { Logger } from "../service/logger.ts";

export function isLive(r: WorkerRecord, now: number): boolean {
  return now - r.heartbeat_at < r.heartbeat_ms * 3;
}

export class WorkerRegistry {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly kv: KV,
    private readonly workerId: string,
    private readonly heartbeatMs: number,
    private readonly serves: () => WorkerRecord["serves"],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.log.warn({ err: String(err) }, "worker heartbeat failed"));
    }, this.heartbeatMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const record: WorkerRecord = {
      v: 1,
      id: this.workerId,
      host: hostname(),
      pid: process.pid,
      started_at: this.startedAt,
      heartbeat_at: Date.now(),
      heartbeat_ms: this.heartbeatMs,
      serves: this.serves(),
    };
    await this.kv.put(keys.worker(this.workerId), JSON.stringify(record));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.kv.purge(keys.worker(this.workerId)).catch(() => undefined);
  }
}

export async function listWorkers(kv: KV, now = Date.now()): Promise<WorkerRecord[]> {
  const out: WorkerRecord[] = [];
  for (const k of await listKeys(kv)) {
    const e = await kv.get(k);
    if (!e || e.operation !== "PUT") continue;
    try {
      const r = e.json<WorkerRecord>();
      if (isLive(r, now)) out.push(r);
    } catch {
      // a record we cannot read is ignored; it expires with the bucket's age limit
    }
  }
  return out;
}

/**
 * @module
 * The writing side of the worker registry: announces what this worker serves in `jetbus-workers`, refreshed by
 * heartbeat, and removes the record on shutdown. Readers (`shared/nats/worker-directory.ts`) take a record
 * whose heartbeat is older than three intervals for a dead worker.
 */
import { hostname } from "node:os";
import type { KV } from "@nats-io/kv";
import { keys } from "../protocol/names.ts";
import type { WorkerRecord } from "../protocol/schemas.ts";
import type { Logger } from "../telemetry/logger.ts";

export class RegistryHeartbeat {
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

/**
 * @module
 * Workers learn of cancelled batches by watching the `jetbus-cancels` bucket, not by a KV read per job. The
 * watch starts before the initial listing, so no cancellation falls between the two; `ready` resolves once
 * every existing cancellation is known.
 */
import { KvWatchInclude, type KV } from "@nats-io/kv";
import { listKeys } from "../nats/kv.ts";
import type { Logger } from "../telemetry/logger.ts";

export class CancelWatcher {
  private readonly cancelled = new Set<string>();
  private stopWatch: (() => void) | null = null;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const w = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.stopWatch = () => w.stop();
    void (async () => {
      for await (const e of w) {
        if (e.operation === "PUT") this.cancelled.add(e.key);
        else this.cancelled.delete(e.key);
      }
    })().catch((err: unknown) => this.log.error({ err }, "cancel watch ended"));
    for (const k of await listKeys(this.kv)) this.cancelled.add(k);
  }

  has(batchId: string): boolean {
    return this.cancelled.has(batchId);
  }

  stop(): void {
    this.stopWatch?.();
  }
}

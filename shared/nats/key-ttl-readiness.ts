/**
 * @module
 * A service whose keys must expire by TTL (the dispatcher's uniqueFor claims, a worker's locks and rate-limit
 * windows) is not ready while a bucket it needs was made without TTL support by an older jetbus: `/readyz`
 * says why, an error line names `jetbus init --apply`, and the bucket is checked again until someone has run
 * it (then the service becomes ready without a restart). Nothing here changes the bucket.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { kvStreamName } from "../protocol/names.ts";
import type { Logger } from "../telemetry/logger.ts";
import { keyTtlMissingMessage } from "./kv-ttl.ts";
import { streamInfo } from "./live-state.ts";

export class KeyTtlReadiness {
  private missing: string[];
  private timer: ReturnType<typeof setInterval> | null = null;

  /** `missing`: what provisioning found (`Provisioned.withoutKeyTtl`), narrowed to the buckets this service uses. */
  constructor(
    private readonly jsm: JetStreamManager,
    missing: string[],
    private readonly log: Logger,
    private readonly recheckMs = 10_000,
  ) {
    this.missing = missing;
    if (missing.length === 0) return;
    log.error({ buckets: missing }, `not ready: ${keyTtlMissingMessage(missing)}`);
    this.timer = setInterval(() => void this.recheck(), recheckMs);
    this.timer.unref();
  }

  /** null when ready */
  reason(): string | null {
    return this.missing.length === 0 ? null : keyTtlMissingMessage(this.missing);
  }

  private async recheck(): Promise<void> {
    try {
      const still: string[] = [];
      for (const b of this.missing)
        if ((await streamInfo(this.jsm, kvStreamName(b)))?.config.allow_msg_ttl !== true) still.push(b);
      for (const b of this.missing.filter((m) => !still.includes(m)))
        this.log.info({ bucket: b }, `bucket ${b} now supports per-key TTL`);
      this.missing = still;
      if (still.length === 0) this.stop();
    } catch (err) {
      this.log.warn({ err: String(err) }, "could not check the buckets' TTL support; trying again");
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

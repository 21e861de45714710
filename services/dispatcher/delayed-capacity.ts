/**
 * @module
 * The limit on waiting jobs. The delayed stream holds schedule messages, and the server refuses discard-new on
 * such a stream (discard-old would drop waiting jobs unseen), so the stream itself is unbounded and the
 * dispatcher refuses a new delayed job with QUEUE_FULL once the stream holds `JETBUS_MAX_QUEUED_JOBS` messages
 * or `JETBUS_MAX_QUEUED_BYTES`. The count is read from stream info at most every `refreshMs` (in the background
 * after the first read), so the limit is approximate by what a refresh interval lets through.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { JetbusError } from "../../shared/protocol/errors.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { STREAMS } from "../../shared/protocol/names.ts";

export interface DelayedLimits {
  /** -1: no limit */
  maxMessages: number;
  /** -1: no limit */
  maxBytes: number;
}

export class DelayedCapacity {
  private messages = 0;
  private bytes = 0;
  private checkedAt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly limits: DelayedLimits,
    private readonly now: () => number = Date.now,
    private readonly refreshMs = 500,
  ) {}

  /** Throws QUEUE_FULL when the delayed stream is at its limit. */
  async assertRoom(): Promise<void> {
    const { maxMessages, maxBytes } = this.limits;
    if (maxMessages < 0 && maxBytes < 0) return;
    if (this.checkedAt === 0) await this.refresh();
    else if (this.now() - this.checkedAt > this.refreshMs) void this.refresh().catch(() => undefined);
    if ((maxMessages >= 0 && this.messages >= maxMessages) || (maxBytes >= 0 && this.bytes >= maxBytes)) {
      throw new JetbusError(
        ErrorCodes.QueueFull,
        `queue is full: ${this.messages} delayed jobs wait (limit JETBUS_MAX_QUEUED_JOBS=${maxMessages}, JETBUS_MAX_QUEUED_BYTES=${maxBytes}); nothing was stored, try again later`,
        { retryable: true, details: { waiting: this.messages, limit: maxMessages } },
      );
    }
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.jsm.streams
      .info(STREAMS.delayed)
      .then((si) => {
        this.messages = si.state.messages;
        this.bytes = si.state.bytes;
        this.checkedAt = this.now();
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }
}

/**
 * @module
 * Reports outcomes to `jetbus.outcomes.<worker>`, batched adaptively: the first outcome goes out at once (in the
 * same tick), and whatever finishes while a publish is in flight rides in the next message (up to `maxPerMessage`
 * entries and `maxBytes` bytes: packed by size, see budgets.ts). Each `report()` resolves when the message holding
 * its entry is stored, so the job is acked only after its outcome is safe.
 *
 * A failed publish is retried (same msg id) until it succeeds or the reporter is closed, unless it can never
 * succeed: a message the server or the stream refuses for its size is split, and an entry that alone fits no
 * message rejects its own `report()` with {@link OutcomeTooLargeError} (the caller fails that job), never the
 * others that shared its message.
 */
import { delay, nuid } from "@nats-io/transport-node";
import { byteLength } from "../protocol/budgets.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetbusError } from "../protocol/errors.ts";
import type { OutcomeEntry } from "../protocol/schemas.ts";
import type { JetStreamPublisher } from "../nats/publisher.ts";
import { isSizeRefusal } from "../nats/publish-failure.ts";

interface Pending {
  entry: OutcomeEntry;
  json: string;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The entry alone is bigger than any outcome message may be: its job must fail instead. */
export class OutcomeTooLargeError extends JetbusError {
  constructor(bytes: number, maxBytes: number) {
    super(
      ErrorCodes.ResultTooLarge,
      `the job's outcome is ${bytes} bytes, over the ${maxBytes}-byte outcome message budget`,
      { details: { bytes, max_bytes: maxBytes } },
    );
  }
}

const FRAME = `{"v":1,"outcomes":[]}`;

export interface OutcomeReporterOptions {
  /** bytes an outcome message may take (see `messageBudget`) */
  maxBytes: number;
  maxPerMessage?: number;
  maxConcurrent?: number;
}

export class OutcomeReporter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private closed = false;
  private readonly maxBytes: number;
  private readonly maxPerMessage: number;
  private readonly maxConcurrent: number;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly subject: string,
    private readonly onError: (err: unknown) => void,
    opts: OutcomeReporterOptions,
  ) {
    this.maxBytes = opts.maxBytes - FRAME.length;
    this.maxPerMessage = opts.maxPerMessage ?? 256;
    this.maxConcurrent = opts.maxConcurrent ?? 2;
  }

  report(entry: OutcomeEntry): Promise<void> {
    if (this.closed) return Promise.reject(new Error("outcome reporter is closed"));
    const json = JSON.stringify(entry);
    const bytes = byteLength(json);
    // Checked before it is queued: an entry that fits no message never joins (or blocks) one.
    if (bytes + 1 > this.maxBytes) return Promise.reject(new OutcomeTooLargeError(bytes, this.maxBytes));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, json, bytes, resolve, reject });
      if (this.inFlight < this.maxConcurrent) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      // The first outcome goes at once (no delay when idle); a second flusher gathers what finishes meanwhile.
      if (this.inFlight > 1) await new Promise((r) => setImmediate(r));
      while (this.queue.length > 0) {
        // The next message: as many queued entries as fit (each fits alone: checked in report()).
        let n = 0;
        for (let used = 0; n < this.queue.length && n < this.maxPerMessage; n++) {
          used += this.queue[n]!.bytes + 1;
          if (n > 0 && used > this.maxBytes) break;
        }
        await this.send(this.queue.splice(0, n));
      }
    } finally {
      this.inFlight--;
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    const data = `{"v":1,"outcomes":[${batch.map((p) => p.json).join(",")}]}`;
    const msgId = nuid.next();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.publisher.publish(this.subject, data, { msgId });
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (this.closed) {
          for (const p of batch) p.reject(err);
          return;
        }
        if (isSizeRefusal(err)) return this.splitRefused(batch, err);
        this.onError(err);
        await delay(Math.min(200 * attempt, 5_000));
      }
    }
  }

  /** The server's limit is lower than the budget said: halve the message, and fail an entry alone. */
  private async splitRefused(batch: Pending[], err: unknown): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      p.reject(new OutcomeTooLargeError(p.bytes, this.maxBytes));
      this.onError(err);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await this.send(batch.slice(0, half));
    await this.send(batch.slice(half));
  }

  async close(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) await delay(5);
    this.closed = true;
  }
}

/**
 * @module
 * Reports outcomes to `jetbus.outcomes.<worker>`, batched adaptively: the first outcome goes out at once (in the
 * same tick), and whatever finishes while a publish is in flight rides in the next message (up to `maxPerMessage`). Each
 * `report()` resolves when the message holding its entry is stored, so the job is acked only after its
 * outcome is safe. A failed publish is retried (same msg id) until it succeeds or the reporter is closed.
 */
import { delay, nuid } from "@nats-io/transport-node";
import type { OutcomeEntry } from "../protocol/schemas.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher } from "../nats/publisher.ts";

interface Pending {
  entry: OutcomeEntry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class OutcomeReporter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly subject: string,
    private readonly onError: (err: unknown) => void,
    private readonly maxPerMessage = 256,
    private readonly maxConcurrent = 2,
  ) {}

  report(entry: OutcomeEntry): Promise<void> {
    if (this.closed) return Promise.reject(new Error("outcome reporter is closed"));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (this.inFlight < this.maxConcurrent) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      // The first outcome goes at once (no delay when idle); a second flusher gathers what finishes meanwhile.
      if (this.inFlight > 1) await new Promise((r) => setImmediate(r));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxPerMessage);
        const data = encodeMessage({ v: 1, outcomes: batch.map((p) => p.entry) });
        const msgId = nuid.next();
        for (let attempt = 1; ; attempt++) {
          try {
            await this.publisher.publish(this.subject, data, { msgId });
            for (const p of batch) p.resolve();
            break;
          } catch (err) {
            if (this.closed) {
              for (const p of batch) p.reject(err);
              break;
            }
            this.onError(err);
            await delay(Math.min(200 * attempt, 5_000));
          }
        }
      }
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) await delay(5);
    this.closed = true;
  }
}

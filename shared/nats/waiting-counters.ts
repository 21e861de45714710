/**
 * @module
 * Counting the jobs that wait as schedule messages, per (queue, type): each waits on a subject of its own (a
 * second schedule on one subject would replace the first), so the stream's subject listing grows with them.
 * Instead one durable consumer per (queue, type), never pulled, filters on its waiting subjects; its
 * `num_pending` is the count, read from consumer info like any consumer's lag.
 */
import { JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { STREAMS } from "../protocol/names.ts";
import { notProvisioned } from "./permission-errors.ts";
import { waitingConsumerConfig } from "./topology.ts";

/** Creates the counting consumer unless it exists (create-only: an existing one is left as it is). */
export async function ensureWaitingConsumer(
  jsm: JetStreamManager,
  queue: string,
  type: string,
): Promise<void> {
  const cfg = waitingConsumerConfig(queue, type);
  try {
    await jsm.consumers.info(STREAMS.delayed, cfg.durable_name);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== 10014) throw err;
  }
  try {
    await jsm.consumers.add(STREAMS.delayed, cfg);
  } catch (err) {
    // Another process made it between our look and our add.
    if (!(err instanceof JetStreamApiError) || err.code !== 10148)
      throw notProvisioned(`consumer ${cfg.durable_name} on ${STREAMS.delayed}`, err) ?? err;
  }
}

/** Makes sure each (queue, type) that gets a schedule is counted, once per pair and process, off the hot path. */
export class WaitingCounters {
  private readonly known = new Set<string>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly onError: (err: unknown) => void,
  ) {}

  readonly note = (queue: string, type: string): void => {
    const key = `${queue}\u0000${type}`;
    if (this.known.has(key)) return;
    this.known.add(key);
    ensureWaitingConsumer(this.jsm, queue, type).catch((err: unknown) => {
      this.known.delete(key);
      this.onError(err);
    });
  };
}

/**
 * @module
 * "Unknown job type": a (queue, type) that no worker has ever registered, i.e. that has no durable consumer.
 * With JETBUS_REJECT_UNKNOWN_TYPES=true such a dispatch is answered with NO_HANDLER at once (a typo is caught
 * at the call site); by default it is accepted, because deployments often dispatch before their first worker
 * starts, and the coordinator dead-letters it if no worker registers the type by the deadline. Known pairs are
 * cached; an unknown one is looked up again each time, so it becomes known as soon as a worker registers it.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { JetbusError } from "../../shared/protocol/errors.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";

export class KnownTypes {
  private readonly known = new Set<string>();
  /** lookups in flight, so a bulk of 1,000 jobs of one new type asks the server once */
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly reject: boolean,
  ) {}

  private exists(queue: string, type: string): Promise<boolean> {
    const key = `${queue}\u0000${type}`;
    if (this.known.has(key)) return Promise.resolve(true);
    let p = this.asking.get(key);
    if (!p) {
      p = this.jsm.consumers
        .info(STREAMS.jobs, jobConsumerName(queue, type))
        .then(
          () => {
            this.known.add(key);
            return true;
          },
          (err: unknown) => {
            if ((err as { code?: number }).code === 10014) return false;
            throw err;
          },
        )
        .finally(() => this.asking.delete(key));
      this.asking.set(key, p);
    }
    return p;
  }

  async assertKnown(pairs: Iterable<{ queue: string; type: string }>): Promise<void> {
    if (!this.reject) return;
    const distinct = new Map<string, { queue: string; type: string }>();
    for (const p of pairs) distinct.set(`${p.queue}\u0000${p.type}`, p);
    const checked = await Promise.all(
      [...distinct.values()].map(async (p) => ((await this.exists(p.queue, p.type)) ? null : p)),
    );
    const missing = checked.filter((p): p is { queue: string; type: string } => p !== null);
    if (missing.length === 0) return;
    const list = missing.map((p) => `${p.type} on queue ${p.queue}`).join(", ");
    throw new JetbusError(
      ErrorCodes.NoHandler,
      `unknown job type: no worker has ever registered ${list}. Check the type and queue names, or start a worker for it first (JETBUS_REJECT_UNKNOWN_TYPES=false accepts jobs before their first worker starts)`,
      { details: { missing } },
    );
  }
}

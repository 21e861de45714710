/**
 * @module
 * Performs workflow effects over NATS: jobs through the JobSender (deterministic msg ids), each workflow event
 * as its own message with the event id as msg id (so a republished outbox never duplicates a fact), batch
 * cancellations into the `jetbus-cancels` bucket that workers watch, and `done` notices for `bus.wait`.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Effect, WorkflowState } from "../core/types.ts";
import { keys } from "../protocol/names.ts";
import type { DoneNotice } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { EffectSink } from "../workflow/engine.ts";
import type { JobSender } from "./job-sender.ts";
import type { JetStreamPublisher } from "./publisher.ts";

export class NatsEffectSink implements EffectSink {
  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: JetStreamPublisher,
    private readonly sender: JobSender,
    private readonly cancels: KV,
    private readonly source: string,
  ) {}

  async perform(effects: readonly Effect[], _state: WorkflowState): Promise<void> {
    const notices: DoneNotice[] = [];
    await Promise.all(
      effects.map(async (e) => {
        switch (e.type) {
          case "publish":
            await this.sender.sendItem(e.item, e.msgId);
            return;
          case "event":
            await this.publisher.publish(
              subjects.events(this.source),
              encodeMessage({ v: 1, events: [e.event] }),
              {
                msgId: e.event.id,
              },
            );
            return;
          case "cancel":
            await this.cancels.put(keys.cancel(e.batchId), JSON.stringify({ v: 1, batch_id: e.batchId }));
            return;
          case "done":
            notices.push({
              v: 1,
              kind: e.kind,
              id: e.id,
              status: e.status,
              ...(e.error ? { error: e.error } : {}),
            });
            return;
        }
      }),
    );
    // Waiters read the record after subscribing, so the notice is only a wake-up: send it after the rest.
    for (const n of notices)
      this.nc.publish(subjects.done(n.kind === "job" ? n.record.dispatch_id : n.id), encodeMessage(n));
  }
}

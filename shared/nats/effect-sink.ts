/**
 * @module
 * Performs workflow effects over NATS: jobs through the JobSender (deterministic msg ids), workflow events in
 * batched messages (each event keeps its deterministic id, which observers deduplicate by), batch
 * cancellations into the `jetbus-cancels` bucket that workers watch, and `done` notices for `bus.wait`.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Effect, WorkItem, WorkflowState } from "../core/types.ts";
import { context, trace } from "@opentelemetry/api";
import { ATTR } from "../telemetry/attributes.ts";
import { contextFromFields, fieldsOf, spanContextOf, type TraceFields } from "../telemetry/carrier.ts";
import { continuesTrace, destination, failSpan, startSend } from "../telemetry/spans.ts";
import { keys } from "../protocol/names.ts";
import type { BusEventWire, DoneNotice } from "../protocol/schemas.ts";
import type { EventBatcher } from "./event-batcher.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { EffectSink } from "../workflow/engine.ts";
import type { JobSender } from "./job-sender.ts";

export class NatsEffectSink implements EffectSink {
  constructor(
    private readonly nc: NatsConnection,
    private readonly sender: JobSender,
    private readonly cancels: KV,
    private readonly events: EventBatcher,
  ) {}

  /**
   * A PRODUCER span per published job: a child of the transition that decided it (`decided`, or the active
   * span), else of the workflow's dispatch. Batch callbacks link to the first members' spans (the total as an
   * attribute).
   */
  private async publishTraced(
    msgId: string,
    item: WorkItem,
    state: WorkflowState,
    decided: TraceFields | undefined,
  ): Promise<void> {
    const active = decided?.traceparent ? undefined : trace.getSpan(context.active());
    const from = decided?.traceparent
      ? decided.traceparent
      : active
        ? active.spanContext()
        : item.traceparent;
    if (!continuesTrace(from)) {
      await this.sender.sendItem(item, msgId);
      return;
    }
    const parent = decided?.traceparent
      ? contextFromFields(decided)
      : active
        ? context.active()
        : contextFromFields(item);
    const batchCallback = item.callback && state.kind === "batch";
    const links = batchCallback
      ? (state.links ?? [])
          .map((tp) => spanContextOf(tp))
          .filter((c) => c !== undefined)
          .map((c) => ({ context: c }))
      : undefined;
    const span = startSend(
      destination(item.spec.queue, item.spec.type),
      {
        [ATTR.messageId]: msgId,
        [ATTR.dispatchId]: item.dispatchId,
        [ATTR.jobType]: item.spec.type,
        [ATTR.queue]: item.spec.queue,
        ...(item.chain ? { [ATTR.chainId]: item.chain.id, [ATTR.conversationId]: item.chain.id } : {}),
        ...(item.callback
          ? {
              [ATTR.callback]: item.callback.kind,
              [ATTR.conversationId]: item.callback.workflowId,
              [item.callback.workflow === "chain" ? ATTR.chainId : ATTR.batchId]: item.callback.workflowId,
            }
          : {}),
        ...(batchCallback ? { [ATTR.batchMembersTotal]: state.total } : {}),
      },
      parent,
      links,
    );
    try {
      await this.sender.sendItem({ ...item, ...fieldsOf(span) }, msgId);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  async perform(effects: readonly Effect[], state: WorkflowState, decided?: TraceFields): Promise<void> {
    const notices: DoneNotice[] = [];
    const events: BusEventWire[] = [];
    await Promise.all(
      effects.map(async (e) => {
        switch (e.type) {
          case "publish":
            await this.publishTraced(e.msgId, e.item, state, decided);
            return;
          case "event":
            events.push(e.event);
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
    // Facts of many workflows share stored messages; observers drop a fact they have already seen (by id).
    if (!(await this.events.add(events)))
      throw new Error("could not store workflow events; the outbox keeps them");
    // Waiters read the record after subscribing, so the notice is only a wake-up: send it after the rest.
    for (const n of notices)
      this.nc.publish(subjects.done(n.kind === "job" ? n.record.dispatch_id : n.id), encodeMessage(n));
  }
}

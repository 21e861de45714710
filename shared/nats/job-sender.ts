/**
 * @module
 * Turns work into stored job messages: builds the envelope, picks the subject (ready jobs on
 * `jetbus.jobs.<queue>.<type>`, jobs with a future `not_before` on `jetbus.delayed.<queue>.<type>`), sets
 * `Nats-Msg-Id` and the W3C trace headers, and publishes with the fast publisher.
 */
import type { WorkItem } from "../core/types.ts";
import type { JobEnvelope } from "../protocol/schemas.ts";
import { subjects } from "../protocol/subjects.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { JetStreamPublisher, PubAck } from "./publisher.ts";
import { headersFromFields, type TraceFields } from "../telemetry/carrier.ts";

export function envelopeFromItem(item: WorkItem, now: number): JobEnvelope {
  const env: JobEnvelope = {
    v: 1,
    job_id: item.jobId,
    dispatch_id: item.dispatchId,
    type: item.spec.type,
    queue: item.spec.queue,
    options: item.spec.options,
    attempt: 0,
    enqueued_at: now,
  };
  if (item.spec.payload !== undefined && item.spec.payload !== null) env.payload = item.spec.payload;
  const delay = item.spec.options.delay_ms ?? 0;
  if (delay > 0) env.not_before = now + delay;
  if (item.chain) env.chain = item.chain;
  if (item.batch) env.batch = item.batch;
  if (item.callback) {
    env.callback = {
      kind: item.callback.kind,
      workflow: item.callback.workflow,
      workflow_id: item.callback.workflowId,
      state: item.callback.state,
      ...(item.callback.error ? { error: item.callback.error } : {}),
    };
  }
  return env;
}

export function subjectFor(env: JobEnvelope, now: number): string {
  return env.not_before !== undefined && env.not_before > now
    ? subjects.delayed(env.queue, env.type)
    : subjects.job(env.queue, env.type);
}

export class JobSender {
  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly now: () => number = Date.now,
  ) {}

  /** Publishes an envelope; `msgId` makes a repeat of the same send a no-op inside the dedupe window. */
  send(env: JobEnvelope, msgId: string, trace: TraceFields = {}): Promise<PubAck> {
    const h = headersFromFields(trace);
    return this.publisher.publish(subjectFor(env, this.now()), encodeMessage(env), { msgId, headers: h });
  }

  sendItem(item: WorkItem, msgId: string): Promise<PubAck> {
    return this.send(envelopeFromItem(item, this.now()), msgId, item);
  }
}

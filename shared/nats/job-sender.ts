/**
 * @module
 * Turns work into stored job messages: builds the envelope, places it by when it may start (`placeJob`: ready
 * or held on `jetbus.jobs.<queue>.<type>`; a longer wait as a `Nats-Schedule` message on
 * `jetbus.wait.<queue>.<type>.<token>` that fires into `jetbus.due.…`, which the jobs stream sources), sets
 * `Nats-Msg-Id` and the W3C trace headers, and publishes with the fast publisher.
 */
import { placeJob } from "../core/waits.ts";
import { HEADERS } from "../protocol/headers.ts";
import type { WorkItem } from "../core/types.ts";
import type { JobEnvelope } from "../protocol/schemas.ts";
import { shortHash } from "../protocol/names.ts";
import { subjects } from "../protocol/subjects.ts";
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

/** The envelope's JSON; with `payloadJson` the payload is spliced in as it is rather than encoded again. */
export function encodeEnvelope(env: JobEnvelope, payloadJson?: string): string {
  if (payloadJson === undefined || env.payload === undefined) return JSON.stringify(env);
  const { payload: _, ...rest } = env;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"payload":${payloadJson}}`;
}

/** A schedule's subject token: the msg id (unique per job message) when it is a safe subject token. */
export function waitToken(msgId: string): string {
  return /^[A-Za-z0-9_@-]{1,200}$/.test(msgId) ? msgId : shortHash(msgId, 32);
}

export interface JobSenderOptions {
  now?: () => number;
  /** told of each (queue, type) that gets a scheduled job, so its waiting jobs can be counted */
  onScheduled?: (queue: string, type: string) => void;
}

export class JobSender {
  private readonly now: () => number;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly opts: JobSenderOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Publishes an envelope; `msgId` makes a repeat of the same send a no-op inside the dedupe window.
   * `payloadJson`, when the caller has it already, is the payload's JSON (it is not encoded again).
   */
  send(env: JobEnvelope, msgId: string, trace: TraceFields = {}, payloadJson?: string): Promise<PubAck> {
    const h = headersFromFields(trace);
    const data = encodeEnvelope(env, payloadJson);
    const place = placeJob(env.not_before, this.now());
    const opts = { msgId, headers: h, headersOwned: true };
    if (place.kind === "ready") return this.publisher.publish(subjects.job(env.queue, env.type), data, opts);
    h.set(HEADERS.notBefore, String(place.notBefore));
    if (place.kind === "held") return this.publisher.publish(subjects.job(env.queue, env.type), data, opts);
    h.set(HEADERS.schedule, `@at ${new Date(place.fireAt).toISOString()}`);
    h.set(HEADERS.scheduleTarget, subjects.due(env.queue, env.type));
    this.opts.onScheduled?.(env.queue, env.type);
    return this.publisher.publish(subjects.wait(env.queue, env.type, waitToken(msgId)), data, opts);
  }

  sendItem(item: WorkItem, msgId: string): Promise<PubAck> {
    return this.send(envelopeFromItem(item, this.now()), msgId, item);
  }
}

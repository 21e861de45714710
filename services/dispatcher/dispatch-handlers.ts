/**
 * @module
 * `jetbus.v1.dispatch` and `jetbus.v1.dispatch.bulk`.
 *
 * Operation dispatch(job):
 * - input: a job request; `dispatch_id` made by the client (generated here if absent, losing idempotence).
 * - precondition: schema-valid, payload within the limit; with `unique_for_ms`, no live claim on the same
 *   (queue, type, canonical payload) by another dispatch id.
 * - effect: one message on `jetbus.jobs.<queue>.<type>` (or, delayed over a second, a schedule message on
 *   `jetbus.wait.<queue>.<type>.<dispatch_id>`) with
 *   `Nats-Msg-Id = dispatch_id`, so a retried request stores nothing new and gets `duplicate: true`.
 * - outcomes: ok | VALIDATION | UNSUPPORTED_VERSION | PAYLOAD_TOO_LARGE | NO_HANDLER | DUPLICATE | QUEUE_FULL |
 *   UNAVAILABLE | INTERNAL.
 * - events: none for a request refused on its own checks (VALIDATION, UNSUPPORTED_VERSION, PAYLOAD_TOO_LARGE);
 *   otherwise dispatch_started, then dispatch_succeeded or dispatch_failed (NO_HANDLER, DUPLICATE, QUEUE_FULL, …).
 */
import type { Msg } from "@nats-io/transport-node";
import { Type } from "@sinclair/typebox";
import { DuplicateError, toErrorBody, ValidationError } from "../../shared/protocol/errors.ts";
import { newId } from "../../shared/ids.ts";
import { envelopeFromItem, type JobSender } from "../../shared/nats/job-sender.ts";
import type { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { publishFailure } from "../../shared/nats/publish-failure.ts";
import type { JobSpec } from "../../shared/core/types.ts";
import type { BulkItemResult, BusEventWire } from "../../shared/protocol/schemas.ts";
import { JobRequest } from "../../shared/protocol/job-request.ts";
import { BulkDispatchRequest, DispatchRequest } from "../../shared/protocol/requests.ts";
import { check, decodeMessage, schemaErrors } from "../../shared/protocol/validate.ts";
import { jobMetrics, metrics } from "../../shared/telemetry/metrics.ts";
import { placeJob } from "../../shared/core/waits.ts";
import type { DelayedCapacity } from "./delayed-capacity.ts";
import { resolveJob, type SpecLimits } from "./job-spec.ts";
import type { KnownTypes } from "./known-types.ts";
import { UniqueClaims } from "./unique-claims.ts";
import { ATTR } from "../../shared/telemetry/attributes.ts";
import { contextFromFields, fieldsFromHeaders, type TraceFields } from "../../shared/telemetry/carrier.ts";
import { destination, failSpan, handedOn, startSend, traceWanted } from "../../shared/telemetry/spans.ts";

export interface DispatchDeps {
  types: KnownTypes;
  sender: JobSender;
  claims: UniqueClaims;
  delayed: DelayedCapacity;
  events: EventBatcher;
  limits: SpecLimits;
  defaultQueue: string;
  now: () => number;
}

/** BulkDispatchRequest with its jobs left unchecked: they are validated one by one. */
const BulkDispatchShape = Type.Object(
  {
    v: BulkDispatchRequest.properties.v,
    jobs: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

export class DispatchHandlers {
  constructor(private readonly d: DispatchDeps) {}

  single = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(DispatchRequest, msg.data, "dispatch request");
    const r = await this.dispatch(req.job, fieldsFromHeaders(msg.headers), "job");
    if (!r.ok) return { v: 1, ok: false, error: r.error };
    return { v: 1, ok: true, dispatch_id: r.dispatch_id, duplicate: r.duplicate };
  };

  bulk = async (msg: Msg): Promise<object> => {
    // The envelope must be valid; each job is checked on its own, so one bad job fails only its own entry.
    const req = decodeMessage(BulkDispatchShape, msg.data, "bulk dispatch request");
    const trace = fieldsFromHeaders(msg.headers);
    const results = await Promise.all(
      req.jobs.map(async (job, i): Promise<BulkItemResult> => {
        const where = `jobs[${i}]`;
        if (check(JobRequest, job)) return this.dispatch(job, trace, where);
        const errors = schemaErrors(JobRequest, job).map((e) =>
          e.startsWith("(message)") ? `${where}${e.slice(9)}` : `${where}.${e}`,
        );
        const error = toErrorBody(new ValidationError(`invalid ${where}: ${errors.join("; ")}`, { errors }));
        metrics.rejected.inc({ code: error.code });
        const id = (job as { dispatch_id?: unknown } | null)?.dispatch_id;
        return { ok: false, ...(typeof id === "string" ? { dispatch_id: id } : {}), error };
      }),
    );
    return { v: 1, ok: true, results };
  };

  async dispatch(job: JobRequest, caller: TraceFields, where: string): Promise<BulkItemResult> {
    const dispatchId = job.dispatch_id ?? newId("dsp");
    const queue = job.queue ?? this.d.defaultQueue;
    const now = this.d.now();
    // A request refused on its own checks (schema, payload size, uniqueFor bound) emits no events, as a body
    // that fails the schema does not: nothing was accepted. From here on every dispatch emits
    // dispatch_started, then dispatch_succeeded or dispatch_failed.
    let spec: JobSpec;
    let payloadJson: string;
    try {
      ({ spec, payloadJson } = resolveJob(job, queue, this.d.limits, where));
    } catch (err) {
      const error = toErrorBody(err);
      metrics.rejected.inc({ code: error.code });
      return { ok: false, dispatch_id: dispatchId, error };
    }
    // The dispatch span (PRODUCER): a child of the caller's span when the request carried one, else a root.
    // Every attempt of the job, and everything it leads to, is under it.
    const span = traceWanted(caller.traceparent)
      ? startSend(
          destination(queue, job.type),
          {
            [ATTR.messageId]: dispatchId,
            [ATTR.dispatchId]: dispatchId,
            [ATTR.jobType]: job.type,
            [ATTR.queue]: queue,
          },
          contextFromFields(caller),
        )
      : null;
    const trace = span ? handedOn(span, caller) : caller;
    const base = { dispatch_id: dispatchId, job_id: dispatchId, type: job.type, queue, ...trace };
    const started: BusEventWire = {
      id: `${dispatchId}.dispatch_started`,
      kind: "dispatch_started",
      at: now,
      ...base,
    };
    let claim: { key: string; revision: number } | null = null;
    try {
      await this.d.types.assertKnown([spec]);
      // Before any claim: a refused dispatch must leave nothing behind.
      const delayMs = spec.options.delay_ms ?? 0;
      if (placeJob(delayMs > 0 ? now + delayMs : undefined, now).kind === "scheduled")
        await this.d.delayed.assertRoom();
      const uniqueFor = spec.options.unique_for_ms ?? 0;
      if (uniqueFor > 0) {
        const key = UniqueClaims.key(spec.queue, spec.type, spec.payload);
        const c = await this.d.claims.claim(key, dispatchId, uniqueFor);
        if (!c.ok) {
          throw new DuplicateError(
            `duplicate job: ${spec.type} on ${spec.queue} with the same payload was dispatched as ${c.holder} and is unique until ${new Date(c.expiresAt).toISOString()}`,
            { holder: c.holder, expires_at: c.expiresAt },
          );
        }
        claim = c;
      }
      const env = envelopeFromItem({ jobId: dispatchId, dispatchId, spec }, now);
      if (job.notify === false) env.notify = false;
      let ack;
      try {
        ack = await this.d.sender.send(env, dispatchId, trace, payloadJson);
      } catch (err) {
        const f = publishFailure(err);
        if (claim && !f.maybeStored) await this.d.claims.release(claim.key, claim.revision);
        throw f.error;
      }
      // A retried request (same dispatch id, already stored) is not a new fact: it was counted and its
      // events were emitted.
      if (!ack.duplicate) {
        jobMetrics(spec.queue, spec.type).dispatched.inc();
        void this.d.events.addDispatched([
          { dispatch_id: dispatchId, type: spec.type, queue: spec.queue, at: now, ...trace },
        ]);
      }
      span?.end();
      return { ok: true, dispatch_id: dispatchId, duplicate: ack.duplicate };
    } catch (err) {
      const error = toErrorBody(err);
      if (span) {
        failSpan(span, err, error.code);
        span.end();
      }
      metrics.rejected.inc({ code: error.code });
      void this.d.events.add([
        started,
        { ...started, id: `${dispatchId}.dispatch_failed.${now}`, kind: "dispatch_failed", error },
      ]);
      return {
        ok: false,
        dispatch_id: dispatchId,
        error: error.code === "HANDLER_ERROR" ? { ...error, code: "INTERNAL" } : error,
      };
    }
  }
}

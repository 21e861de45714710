/**
 * @module
 * What a worker does with one delivered job, start to settlement.
 *
 * attempt = envelope.attempt + (deliveries of this message − 1): a redelivery means the previous holder died
 * mid-run (or stopped heart-beating), and that counts. Releases, delays and retries never redeliver: they
 * publish a new message (deterministic msg id from the source message) and ack this one, so they cost no
 * attempt and never hold a consumer slot while they wait.
 *
 * Settlement order: side publication (retry, release or dead letter) → outcome stored → ack. A crash anywhere
 * redelivers the job; the coordinator is idempotent per job, so the outcome never counts twice.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { PulledMsg } from "../nats/pulled-msg.ts";
import type { KV } from "@nats-io/kv";
import { delay, type NatsConnection } from "@nats-io/transport-node";
import { beforeRun, settleAttempt } from "../core/settle.ts";
import { onArrival } from "../core/waits.ts";
import { JetbusError, ReleaseError, toErrorBody } from "../protocol/errors.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { jobConsumerName } from "../protocol/names.ts";
import { RecordedOutcomes } from "./recorded-outcomes.ts";
import { checkedResult } from "./result-budget.ts";
import type { ErrorBody, JobEnvelope, OutcomeEntry } from "../protocol/schemas.ts";
import { JobEnvelope as JobEnvelopeSchema } from "../protocol/envelope.ts";
import { isPlainJob, outcomeEntry, resultRecord, wantsDoneNotice } from "../protocol/outcome-builders.ts";
import { HEADERS } from "../protocol/headers.ts";
import { scheduledInPlace, subjects } from "../protocol/subjects.ts";
import { decodeMessage, encodeMessage } from "../protocol/validate.ts";
import type { JobSender } from "../nats/job-sender.ts";
import type { JetStreamPublisher } from "../nats/publisher.ts";
import type { Logger } from "../telemetry/logger.ts";
import { jobMetrics, metrics } from "../telemetry/metrics.ts";
import type { CancelWatcher } from "./cancel-watcher.ts";
import { JobContext, type JobRuntime } from "./context.ts";
import { deadLetter, deadLetterRaw } from "../nats/dead-letter-writer.ts";
import type { Handler, Middleware } from "./middleware.ts";
import { runAttempt, type AttemptResult } from "./run-attempt.ts";
import { truncateError } from "../core/truncate.ts";
import { OutcomeTooLargeError, type OutcomeReporter } from "./outcome-reporter.ts";
import { context, trace, type Attributes, type Span } from "@opentelemetry/api";
import { ATTR } from "../telemetry/attributes.ts";
import {
  contextFromFields,
  fieldsFromHeaders,
  fieldsOf,
  traceIds,
  type TraceFields,
} from "../telemetry/carrier.ts";
import { continuesTrace, destination, failSpan, startProcess } from "../telemetry/spans.ts";

export interface Registration {
  type: string;
  handler: Handler;
  concurrency: number;
  middleware: Middleware[];
}

export interface DeliveryDeps {
  nc: NatsConnection;
  publisher: JetStreamPublisher;
  sender: JobSender;
  reporter: Pick<OutcomeReporter, "report">;
  cancels: CancelWatcher;
  runtime: JobRuntime;
  log: Logger;
  maxResultBytes: number;
  /** stamp hop times on outcome entries (`JETBUS_HOP_TIMING`) */
  hopTiming: boolean;
  registration: (type: string) => Registration | undefined;
  /** the registration's handler inside the bus-wide and its own middleware (composed once, not per job) */
  run: (reg: Registration) => (ctx: JobContext) => Promise<unknown>;
  /** true while the worker is shutting down: a job still running then is released, not reported */
  abandoned: (m: PulledMsg) => boolean;
  onOutcomeStored: () => void;
  /** recorded results of plain jobs: a redelivered job found there is not run again */
  results?: { jsm: JetStreamManager; bucket: KV };
  /** workflow records (read only): a redelivered member, node or callback recorded there is not run again */
  workflows?: KV;
  /** how long a redelivery that would be dead-lettered as worker_died waits for its outcome to be recorded */
  settleWaitMs?: number;
}

function processAttributes(m: PulledMsg, env: JobEnvelope, attempt: number): Attributes {
  const a: Attributes = {
    [ATTR.messageId]: env.job_id,
    [ATTR.consumerGroup]: jobConsumerName(env.queue, env.type),
    [ATTR.bodySize]: m.data.byteLength,
    [ATTR.dispatchId]: env.dispatch_id,
    [ATTR.jobType]: env.type,
    [ATTR.queue]: env.queue,
    [ATTR.attempt]: attempt,
  };
  if (env.chain) a[ATTR.chainId] = a[ATTR.conversationId] = env.chain.id;
  if (env.batch) a[ATTR.batchId] = a[ATTR.conversationId] = env.batch.id;
  if (env.callback) {
    a[ATTR.callback] = env.callback.kind;
    a[ATTR.conversationId] = env.callback.workflow_id;
    a[env.callback.workflow === "chain" ? ATTR.chainId : ATTR.batchId] = env.callback.workflow_id;
  }
  return a;
}

export class DeliveryProcessor {
  private readonly recorded: RecordedOutcomes;
  /** stream sequences handed back (nak'ed) unsettled: their next delivery must be processed, not skipped */
  private readonly handedBack = new Set<number>();

  constructor(private readonly d: DeliveryDeps) {
    this.recorded = new RecordedOutcomes(d);
  }

  /** Whether this delivery was handed back unsettled (once: the mark is taken). */
  takeHandedBack(seq: number): boolean {
    return this.handedBack.delete(seq);
  }

  async process(m: PulledMsg): Promise<void> {
    const deliveredAt = this.d.hopTiming ? Date.now() : 0;
    const scheduler = m.headers?.get(HEADERS.scheduler);
    if (scheduler && !scheduledInPlace(scheduler, m.subject)) {
      // Permissions cannot stop this (the server does not check a schedule's target against its publisher).
      this.d.log.warn(
        { subject: m.subject, scheduler },
        "job scheduled from another queue: refused, dead-lettered",
      );
      const error = `scheduled by ${scheduler}, which is not this job's queue and type: refused`;
      await deadLetterRaw(
        this.d.publisher,
        m,
        { code: ErrorCodes.PermissionDenied, message: error, retryable: false },
        "jobs",
      );
      m.ack();
      return;
    }
    let env: JobEnvelope;
    try {
      env = decodeMessage(JobEnvelopeSchema, m.data, "job envelope");
    } catch (err) {
      this.d.log.warn({ subject: m.subject, err: String(err) }, "undecodable job message: dead-lettered");
      await deadLetterRaw(this.d.publisher, m, { ...toErrorBody(err), code: ErrorCodes.Malformed }, "jobs");
      m.ack();
      return;
    }
    const attempt = env.attempt + Math.max(0, m.info.deliveryCount - 1);
    const sendTrace = fieldsFromHeaders(m.headers);
    if (!continuesTrace(sendTrace.traceparent))
      return this.deliver(m, env, attempt, null, sendTrace, deliveredAt);
    // One CONSUMER span per delivery, a child of the message's producer. Retries are republished with the
    // message's own trace context, so each attempt is a sibling under the same producer, not a deeper child.
    const span = startProcess(
      destination(env.queue, env.type),
      processAttributes(m, env, attempt),
      contextFromFields(sendTrace),
    );
    try {
      // A span sampled out needs no context: only a recording one is made active for the handler.
      if (!span.isRecording()) await this.deliver(m, env, attempt, span, sendTrace, deliveredAt);
      else
        await context.with(trace.setSpan(context.active(), span), () =>
          this.deliver(m, env, attempt, span, sendTrace, deliveredAt),
        );
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private async deliver(
    m: PulledMsg,
    env: JobEnvelope,
    attempt: number,
    span: Span | null,
    sendTrace: TraceFields,
    deliveredAt: number,
  ): Promise<void> {
    const arrival = onArrival(env.not_before, Date.now());
    if (arrival.kind === "wait-again") {
      // Due later than a worker may hold it (a producer that did not place it by its time): wait again.
      await this.d.sender.send(env, `${env.job_id}@w${m.seq}`, sendTrace);
      m.ack();
      return;
    }
    // Early by at most the hold limit without saying so in a header (the pull loop holds those outside the
    // slots): wait here.
    if (arrival.kind === "hold") await delay(arrival.until - Date.now());
    const jm = jobMetrics(env.queue, env.type);
    // Built only if something is logged. With a recording span the logger's mixin adds its ids; without
    // one, the ids the message carried still tie the line to the dispatch's trace.
    const log = () =>
      this.d.log.child({
        dispatch_id: env.dispatch_id,
        job_id: env.job_id,
        type: env.type,
        attempt,
        ...(span?.isRecording() ? {} : traceIds(sendTrace.traceparent)),
      });
    const started = Date.now();
    // Outcome entries name this delivery's span (their own trace context: outcomes travel batched).
    const base = { env, attempt, trace: span ? fieldsOf(span) : sendTrace, started, deliveredAt };

    if (env.batch && !env.callback && this.d.cancels.has(env.batch.id)) {
      jm.skipped.inc();
      span?.setAttribute(ATTR.outcome, "skipped");
      await this.report(m, base, "skipped");
      return;
    }
    if (m.info.deliveryCount > 1 && (await this.recorded.has(env))) {
      // A redelivery after a lost ack (e.g. a NATS restart): the job has its outcome, so it is not run again
      // and not mistaken for a delivery whose worker died.
      log().info("redelivered job already has an outcome: acked without running it");
      m.ack();
      return;
    }
    const before = beforeRun(attempt, env.options);
    if (before.kind === "dead-letter" && this.recorded.deferOnce(env)) {
      // Its outcome may be stored but not yet recorded (a coordinator catching up after a restart): look again
      // at the next delivery (checked above) instead of holding a slot while waiting.
      log().info("redelivered job past its retries: looked at again after the settle wait");
      this.handedBack.add(m.seq);
      m.nak(this.d.settleWaitMs ?? 3_000);
      return;
    }
    if (before.kind === "dead-letter") {
      // The delivery handed back above counts no death.
      before.attempts = Math.max(before.reportedAttempt + 1, before.attempts - 1);
      // Every earlier delivery ended with its worker gone: do not run it again.
      const error: ErrorBody = {
        code: ErrorCodes.WorkerDied,
        message: `job ${env.job_id} was delivered ${before.attempts} time(s) and its worker never finished it (crash, kill or a blocked event loop)`,
        retryable: false,
      };
      jm.deadLettered.inc();
      jm.failed.inc();
      if (span) failSpan(span, new JetbusError(error.code, error.message), error.code);
      await deadLetter(this.d.publisher, m, env, before.reason, error, before.attempts);
      await this.report(m, { ...base, attempt: before.reportedAttempt }, "failed", { error });
      return;
    }
    const reg = this.d.registration(env.type);
    if (!reg) {
      // Only registered types are pulled; this is a registration removed while running. Let another worker have it.
      await this.release(m, env, 5_000, sendTrace);
      return;
    }

    // No heartbeat timer here: the pull loop keeps every running job's message alive.
    const handle = this.d.run(reg);
    jm.inFlight.inc();
    let result: AttemptResult;
    try {
      result = await runAttempt(
        (signal) => handle(new JobContext(env, attempt, signal, log, () => m.working(), this.d.runtime)),
        env.options.timeout_ms ?? 0,
        () => `${env.type} attempt ${attempt}`,
      );
    } finally {
      jm.inFlight.dec();
    }
    if (this.d.abandoned(m)) return;
    // A result over its budget fails this job (RESULT_TOO_LARGE ends retries) instead of vanishing.
    let value: unknown;
    if (result.ok) {
      const checked = checkedResult(result.value, this.d.maxResultBytes, log);
      if (checked instanceof JetbusError) result = { ok: false, error: checked, timedOut: false };
      else value = checked;
    }
    const finished = Date.now();
    const seconds = (finished - started) / 1000;
    const err = result.ok ? undefined : result.error;
    // The outcome (and every record made from it) keeps a bounded error; the dead letter keeps more.
    const fullError = result.ok ? undefined : toErrorBody(err);
    const error = fullError && truncateError(fullError);
    const failure =
      err instanceof ReleaseError
        ? { code: err.code, releaseAfterMs: err.retryAfterMs }
        : error
          ? { code: error.code }
          : null;
    const settlement = settleAttempt(attempt, env.options, failure, finished);
    switch (settlement.kind) {
      case "succeed": {
        span?.setAttribute(ATTR.outcome, "succeeded");
        jm.durationSucceeded.observe(seconds);
        jm.succeeded.inc();
        await this.report(m, base, "succeeded", value === undefined ? {} : { result: value });
        return;
      }
      case "release": {
        span?.setAttribute(ATTR.outcome, "released");
        metrics.released.inc({ queue: env.queue, type: env.type, reason: failure!.code });
        if (this.d.log.isLevelEnabled("debug"))
          log().debug({ retry_after_ms: failure!.releaseAfterMs, code: failure!.code }, "job released");
        await this.requeue(m, { ...env, attempt }, settlement.notBefore, "r", sendTrace);
        m.ack();
        return;
      }
    }
    jm.durationFailed.observe(seconds);
    if (span) {
      span.setAttribute(ATTR.outcome, "failed");
      failSpan(span, err, error!.code);
    }
    if (settlement.kind === "dead-letter") {
      const permanent = settlement.reason === "permanent";
      log().warn({ error }, permanent ? "job failed permanently" : "job failed: retries spent");
      jm.failed.inc();
      jm.deadLettered.inc();
      await deadLetter(
        this.d.publisher,
        m,
        { ...env, attempt },
        settlement.reason,
        fullError!,
        settlement.attempts,
      );
      await this.report(m, base, "failed", { error: error! });
    } else {
      log().info({ error, backoff_ms: env.options.backoff_ms ?? 0 }, "job failed: retrying");
      jm.retried.inc();
      await this.requeue(m, { ...env, attempt: settlement.attempt }, settlement.notBefore, "a", sendTrace);
      await this.report(m, base, "retried", { error: error! });
    }
  }

  /**
   * Puts the job back for `afterMs` (0: as it was, keeping a `not_before` still ahead) without using an attempt:
   * a new message, then ack this one.
   */
  async release(m: PulledMsg, env: JobEnvelope, afterMs: number, trace: TraceFields): Promise<void> {
    await this.requeue(m, env, afterMs > 0 ? Date.now() + afterMs : env.not_before, "r", trace);
    m.ack();
  }

  /**
   * The job again as a new message (`env` already carries the attempt it will run as), not before
   * `notBefore`; its msg id (`<job>@<tag><seq>`) makes a repeat after a crash a no-op.
   */
  private requeue(
    m: PulledMsg,
    env: JobEnvelope,
    notBefore: number | undefined,
    tag: "a" | "r",
    trace: TraceFields,
  ): Promise<unknown> {
    const next: JobEnvelope = { ...env };
    if (notBefore !== undefined) next.not_before = notBefore;
    else delete next.not_before;
    return this.d.sender.send(next, `${env.job_id}@${tag}${m.seq}`, trace);
  }

  private async report(
    m: PulledMsg,
    b: { env: JobEnvelope; attempt: number; trace: TraceFields; started: number; deliveredAt: number },
    status: OutcomeEntry["status"],
    extra: { result?: unknown; error?: ErrorBody } = {},
  ): Promise<void> {
    const { env } = b;
    const entry = outcomeEntry(env, {
      attempt: b.attempt,
      status,
      startedAt: b.started,
      finishedAt: Date.now(),
      ...b.trace,
      ...extra,
      ...(this.d.hopTiming
        ? { timing: { enqueued_at: env.enqueued_at, delivered_at: b.deliveredAt, started_at: b.started } }
        : {}),
    });
    try {
      await this.d.reporter.report(entry);
    } catch (err) {
      // Only this job's outcome fits no message: it fails alone (dead letter, then a small failed outcome).
      if (!(err instanceof OutcomeTooLargeError) || (status === "failed" && extra.result === undefined))
        throw err;
      const error = toErrorBody(err);
      this.d.log.warn({ job_id: env.job_id, error }, "outcome too large: the job fails");
      await deadLetter(
        this.d.publisher,
        m,
        { ...env, attempt: b.attempt },
        "permanent",
        error,
        b.attempt + 1,
      );
      return this.report(m, b, "failed", { error });
    }
    // Stored: from now on a redelivery of this job here is a lost ack, not a death. (Not before: an outcome
    // that never got stored must not make its job look finished.)
    if (status === "succeeded" || status === "failed") this.recorded.reportedHere(env);
    this.d.onOutcomeStored();
    m.ack();
    // A plain job's waiter can wake now; the coordinator records the result for late waiters.
    if ((status === "succeeded" || status === "failed") && isPlainJob(env) && wantsDoneNotice(env)) {
      const record = resultRecord(entry);
      if (record.timing) record.timing = { ...record.timing, stored_at: Date.now() };
      this.d.nc.publish(subjects.done(env.dispatch_id), encodeMessage({ v: 1, kind: "job", record }));
    }
  }
}

/**
 * @module
 * `bus.deadLetters`: list, show, replay and remove jobs whose attempts are spent. Replay puts the envelope back
 * on its queue with attempt 0 (msg id `replay-<seq>`, so a repeated replay stores one job), then removes the
 * dead letter. Listing, counting and the bulk actions share one filter (`shared/protocol/dead-letter-filter.ts`) with
 * the console and the CLI; a bulk action takes the `upToSeq` its count was made at, so it acts on the letters
 * the operator confirmed and not on ones that arrived since.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { DeadLetterFilter } from "../protocol/dead-letter-filter.ts";
import {
  decodeLetter,
  unreadableLetter,
  scanDeadLetters,
  walkDeadLetters,
  type ScannedLetter,
} from "../nats/dead-letter-scan.ts";
import { fromErrorBody, NotFoundError, ValidationError } from "../protocol/errors.ts";
import { STREAMS } from "../protocol/names.ts";
import { metrics } from "../telemetry/metrics.ts";
import type { JobEnvelope } from "../protocol/schemas.ts";

import type { JobSender } from "../nats/job-sender.ts";
import type {
  BulkResult,
  DeadLetterInfo,
  DeadLetterListOptions,
  DeadLetterPage,
  DeadLetters,
} from "./types.ts";

/** Letters acted on per read of the stream. */
const BULK_PAGE = 256;

function info({ seq, subject, letter: d, workflowId, unreadable }: ScannedLetter): DeadLetterInfo {
  if (unreadable !== undefined) {
    metrics.invalidMessages.inc({ source: "dead_letters", reason: "schema" });
    return {
      seq,
      reason: "unreadable",
      subject,
      sourceSubject: subject,
      raw: unreadable,
      error: fromErrorBody(d.error),
      attempts: 0,
      failedAt: new Date(d.failed_at),
    };
  }
  const out: DeadLetterInfo = {
    seq,
    reason: d.reason,
    subject,
    sourceSubject: d.source_subject,
    ...(d.raw !== undefined ? { raw: d.raw } : {}),
    error: fromErrorBody(d.error),
    attempts: d.attempts,
    failedAt: new Date(d.failed_at),
  };
  if (d.envelope) {
    out.jobType = d.envelope.type;
    out.queue = d.envelope.queue;
    out.dispatchId = d.envelope.dispatch_id;
    out.jobId = d.envelope.job_id;
    out.payload = d.envelope.payload ?? null;
    out.attempt = d.envelope.attempt;
    out.envelope = d.envelope;
  }
  if (workflowId) out.workflowId = workflowId;
  return out;
}

export class NatsDeadLetters implements DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: () => Promise<JetStreamManager>,
    private readonly sender: () => JobSender,
    /** forgets a plain job's recorded result, so `bus.wait` after a replay waits for the new outcome */
    private readonly forgetResult?: (dispatchId: string, replay: number) => Promise<void>,
  ) {}

  async list(opts: DeadLetterListOptions = {}): Promise<DeadLetterInfo[]> {
    return (await this.page(opts)).letters;
  }

  async page(opts: DeadLetterListOptions = {}): Promise<DeadLetterPage> {
    const { limit = 100, afterSeq, ...filter } = opts;
    const r = await scanDeadLetters(this.js, await this.jsm(), filter, {
      limit,
      withUnreadable: true,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
    });
    return { letters: r.letters.map(info), nextSeq: r.nextSeq };
  }

  async count(filter: DeadLetterFilter = {}, upTo?: number): Promise<{ count: number; upToSeq: number }> {
    const jsm = await this.jsm();
    const upToSeq = upTo ?? (await jsm.streams.info(STREAMS.deadLetters)).state.last_seq;
    let count = 0;
    await walkDeadLetters(this.js, jsm, filter, { upToSeq }, () => {
      count++;
    });
    return { count, upToSeq };
  }

  async replayMatching(filter: DeadLetterFilter, upToSeq: number): Promise<BulkResult> {
    return this.eachMatching(filter, upToSeq, (seq) => this.replay(seq));
  }

  async removeMatching(filter: DeadLetterFilter, upToSeq: number): Promise<BulkResult> {
    return this.eachMatching(filter, upToSeq, (seq) => this.remove(seq));
  }

  /**
   * A page of sequences at a time (never every letter in memory), one letter at a time within it, so a letter
   * that cannot be replayed is reported and the others still go.
   */
  private async eachMatching(
    filter: DeadLetterFilter,
    upToSeq: number,
    act: (seq: number) => Promise<unknown>,
  ): Promise<BulkResult> {
    const out: BulkResult = { done: 0, failed: [] };
    let afterSeq: number | undefined;
    for (;;) {
      const seqs: number[] = [];
      const r = await walkDeadLetters(
        this.js,
        await this.jsm(),
        filter,
        { upToSeq, ...(afterSeq !== undefined ? { afterSeq } : {}) },
        (s) => seqs.push(s.seq) >= BULK_PAGE,
      );
      for (const seq of seqs) {
        try {
          await act(seq);
          out.done++;
        } catch (err) {
          out.failed.push({ seq, message: (err as Error).message });
        }
      }
      if (r.nextSeq === null) return out;
      afterSeq = r.nextSeq;
    }
  }

  private async get(seq: number): Promise<ScannedLetter> {
    const jsm = await this.jsm();
    const sm = await jsm.streams.getMessage(STREAMS.deadLetters, { seq }).catch(() => null);
    if (!sm) throw new NotFoundError(`dead letter ${seq}`);
    const s = decodeLetter(seq, sm.subject, sm.data);
    return s ?? unreadableLetter(seq, sm.subject, sm.data, sm.time.getTime());
  }

  async show(seq: number): Promise<DeadLetterInfo> {
    return info(await this.get(seq));
  }

  async replay(seq: number): Promise<{ dispatchId: string }> {
    const { letter } = await this.get(seq);
    if (!letter.envelope)
      throw new ValidationError(
        `dead letter ${seq} could not be decoded (${letter.error.message}): nothing to replay`,
      );
    const env: JobEnvelope = {
      ...letter.envelope,
      attempt: 0,
      replay: (letter.envelope.replay ?? 0) + 1,
      enqueued_at: Date.now(),
    };
    delete env.not_before;
    if (this.forgetResult && !env.chain && !env.batch && !env.callback)
      await this.forgetResult(env.dispatch_id, env.replay ?? 1);
    await this.sender().send(env, `replay-${seq}`);
    await this.remove(seq);
    return { dispatchId: env.dispatch_id };
  }

  async remove(seq: number): Promise<void> {
    const jsm = await this.jsm();
    await jsm.streams.deleteMessage(STREAMS.deadLetters, seq).catch((err: unknown) => {
      if (!/no message found|not found/i.test(String(err))) throw err;
    });
  }
}

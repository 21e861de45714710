/**
 * @module
 * `bus.deadLetters`: list, show, replay and remove jobs whose attempts are spent. Replay puts the envelope back
 * on its queue with attempt 0 (msg id `replay-<seq>`, so a repeated replay stores one job), then removes the
 * dead letter.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { NotFoundError, ValidationError } from "../protocol/errors.ts";
import { STREAMS } from "../protocol/names.ts";
import type { DeadLetter, JobEnvelope } from "../protocol/schemas.ts";
import { check, parseJson } from "../protocol/validate.ts";
import { DeadLetter as DeadLetterSchema } from "../protocol/dead-letter.ts";
import { deadLetterInfo } from "./dead-letter-info.ts";
import type { JobSender } from "../nats/job-sender.ts";
import type { DeadLetterInfo, DeadLetters } from "./types.ts";

export class NatsDeadLetters implements DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: () => Promise<JetStreamManager>,
    private readonly sender: () => JobSender,
    /** forgets a plain job's recorded result, so `bus.wait` after a replay waits for the new outcome */
    private readonly forgetResult?: (dispatchId: string, replay: number) => Promise<void>,
  ) {}

  async list(filter: { queue?: string; type?: string; limit?: number } = {}): Promise<DeadLetterInfo[]> {
    const limit = filter.limit ?? 100;
    const subject = `jetbus.dlq.${filter.queue ?? "*"}.${filter.type ?? ">"}`;
    const jsm = await this.jsm();
    const si = await jsm.streams.info(STREAMS.deadLetters);
    if (si.state.messages === 0) return [];
    const consumer = await this.js.consumers.get(STREAMS.deadLetters, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const out: DeadLetterInfo[] = [];
    for (;;) {
      if (out.length >= limit) break;
      const m = await consumer.next({ expires: 1_000 });
      if (!m) break;
      out.push(deadLetterInfo(m.seq, m.subject, m.data));
      if (m.info.pending === 0) break;
    }
    await consumer.delete().catch(() => undefined);
    return out;
  }

  private async get(seq: number): Promise<{ subject: string; data: Uint8Array }> {
    const jsm = await this.jsm();
    const sm = await jsm.streams.getMessage(STREAMS.deadLetters, { seq }).catch(() => null);
    if (!sm) throw new NotFoundError(`dead letter ${seq}`);
    return { subject: sm.subject, data: sm.data };
  }

  async show(seq: number): Promise<DeadLetterInfo> {
    const { subject, data } = await this.get(seq);
    return deadLetterInfo(seq, subject, data);
  }

  async replay(seq: number): Promise<{ dispatchId: string }> {
    const { data } = await this.get(seq);
    const letter = parseJson(data, "dead letter") as Partial<DeadLetter>;
    if (!check(DeadLetterSchema, letter) || !letter.envelope)
      throw new ValidationError(
        `dead letter ${seq} could not be decoded (${letter.error?.message ?? "not a dead letter"}): nothing to replay`,
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

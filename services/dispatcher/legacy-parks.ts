/**
 * @module
 * Parks of protocol-v1 workers. Before jobs waited as server-side schedules, a worker that got a job before its
 * `not_before` published it to `jetbus.delayed.<queue>.<type>`; workers written that way keep working: each
 * such park is placed again by its time (held on the jobs subject, or a schedule message) under msg id
 * `<job_id>@d<seq>`, then acked. jetbus's own workers never park this way, so this costs them nothing.
 */
import type { PulledMsg } from "../../shared/nats/pulled-msg.ts";
import { toErrorBody } from "../../shared/protocol/errors.ts";
import type { JobSender } from "../../shared/nats/job-sender.ts";
import type { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { JobEnvelope } from "../../shared/protocol/envelope.ts";
import { decodeMessage } from "../../shared/protocol/validate.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { deadLetterRaw } from "../../shared/nats/dead-letter-writer.ts";
import { fieldsFromHeaders } from "../../shared/telemetry/carrier.ts";

export class LegacyParks {
  constructor(
    private readonly sender: JobSender,
    private readonly publisher: JetStreamPublisher,
    private readonly log: Logger,
  ) {}

  async forward(m: PulledMsg): Promise<void> {
    let env;
    try {
      env = decodeMessage(JobEnvelope, m.data, "parked job envelope");
    } catch (err) {
      this.log.warn({ err: String(err), subject: m.subject }, "undecodable parked job: dead-lettered");
      await deadLetterRaw(this.publisher, m, { ...toErrorBody(err), code: ErrorCodes.Malformed }, "delayed");
      m.ack();
      return;
    }
    try {
      await this.sender.send(env, `${env.job_id}@d${m.seq}`, fieldsFromHeaders(m.headers));
      m.ack();
    } catch (err) {
      this.log.warn({ err: String(err), job_id: env.job_id }, "could not place a parked job; retrying");
      m.nak(1_000);
    }
  }
}

/**
 * @module
 * The delay forwarder: jobs with a future `not_before` (delay, backoff, release) wait on
 * `jetbus.delayed.<queue>.<type>`. Each is parked with `nak(remaining)` (the server redelivers it when due,
 * and it never holds a job consumer's slot), then forwarded to `jetbus.jobs.<queue>.<type>` with msg id
 * `<job_id>@d<seq>` and acked. 1,000 delayed jobs never delay an undelayed one: they are not on its subject.
 */
import type { JsMsg } from "@nats-io/jetstream";
import { delay } from "@nats-io/transport-node";
import { toErrorBody } from "../../shared/protocol/errors.ts";
import type { JobSender } from "../../shared/nats/job-sender.ts";
import type { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { JobEnvelope } from "../../shared/protocol/envelope.ts";
import { decodeMessage } from "../../shared/protocol/validate.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { deadLetterRaw } from "../../shared/nats/dead-letter-writer.ts";
import { fieldsFromHeaders } from "../../shared/telemetry/carrier.ts";

/** The server redelivers a nak'd message after at most this long; longer waits are chained. */
const MAX_PARK_MS = 3_600_000;
/** Jobs due within this long are held in memory rather than parked with nak. */
const HOLD_MS = 250;

export class DelayForwarder {
  constructor(
    private readonly sender: JobSender,
    private readonly publisher: JetStreamPublisher,
    private readonly log: Logger,
  ) {}

  async forward(m: JsMsg): Promise<void> {
    let env;
    try {
      env = decodeMessage(JobEnvelope, m.data, "delayed job envelope");
    } catch (err) {
      this.log.warn({ err: String(err), subject: m.subject }, "undecodable delayed job: dead-lettered");
      await deadLetterRaw(this.publisher, m, { ...toErrorBody(err), code: ErrorCodes.Malformed }, "delayed");
      m.ack();
      return;
    }
    const wait = (env.not_before ?? 0) - Date.now();
    if (wait > HOLD_MS) {
      m.nak(Math.min(wait, MAX_PARK_MS));
      return;
    }
    // Due very soon (a short backoff): waiting here is cheaper than a redelivery round trip, and the pull
    // loop keeps the message alive meanwhile; a crash just redelivers it.
    if (wait > 0) await delay(wait);
    const ready = { ...env };
    delete ready.not_before;
    try {
      await this.sender.send(ready, `${env.job_id}@d${m.seq}`, fieldsFromHeaders(m.headers));
      m.ack();
    } catch (err) {
      this.log.warn({ err: String(err), job_id: env.job_id }, "could not forward a due job; retrying");
      m.nak(1_000);
    }
  }
}

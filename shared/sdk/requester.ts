/**
 * @module
 * Request/reply to the dispatcher: W3C trace context injected into headers, a clear UNAVAILABLE error when no
 * dispatcher answers, and retries on time-out. Retrying is safe because every request carries client-made ids.
 */
import { context } from "@opentelemetry/api";
import {
  RequestError,
  TimeoutError as NatsTimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from "@nats-io/transport-node";
import { fromErrorBody, JetbusError } from "../protocol/errors.ts";
import { permissionDenied } from "../nats/permission-errors.ts";
import { onReconnect } from "../nats/reconnects.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import type { ErrorReply } from "../protocol/schemas.ts";
import { encodeMessage, parseJson } from "../protocol/validate.ts";
import { injectHeaders } from "../telemetry/carrier.ts";

export class Requester {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly attempts = 3,
  ) {}

  private requestOrReconnect(subject: string, data: Uint8Array, h: MsgHdrs): Promise<Msg | "reconnected"> {
    let stop = () => undefined as void;
    const reconnected = new Promise<"reconnected">(
      (res) => (stop = onReconnect(this.nc, () => res("reconnected"))),
    );
    const sent = this.nc.request(subject, data, { timeout: this.timeoutMs, headers: h });
    sent.catch(() => undefined);
    return Promise.race([sent, reconnected]).finally(stop);
  }

  /** Sends `body`, returns the ok reply, throws the reply's typed error. */
  async request<T extends { ok: true }>(subject: string, body: unknown): Promise<T> {
    const data = encodeMessage(body);
    const h = injectHeaders(context.active());
    for (let attempt = 1; ; attempt++) {
      try {
        const msg = await this.requestOrReconnect(subject, data, h);
        // Sent while the connection was down, so dropped by the client: re-send now, not after the time-out.
        if (msg === "reconnected") {
          if (attempt < this.attempts) continue;
          throw new NatsTimeoutError();
        }
        const reply = parseJson(msg.data, "dispatcher reply") as T | ErrorReply;
        if (!reply.ok) throw fromErrorBody((reply as ErrorReply).error);
        return reply;
      } catch (err) {
        if (err instanceof JetbusError) throw err;
        const denied = permissionDenied(err, `request on ${subject}`);
        if (denied) throw denied;
        if (err instanceof RequestError && err.isNoResponders()) {
          throw new JetbusError(
            ErrorCodes.Unavailable,
            `no jetbus dispatcher is running (nobody answers on ${subject}): start one with \`npx jetbus dispatcher\``,
            { retryable: true, cause: err },
          );
        }
        const timedOut =
          err instanceof NatsTimeoutError || (err instanceof Error && /timeout/i.test(err.message));
        if (timedOut && attempt < this.attempts) continue;
        throw new JetbusError(
          ErrorCodes.Unavailable,
          timedOut
            ? `the dispatcher did not answer on ${subject} within ${this.timeoutMs} ms (${attempt} tries)`
            : `request on ${subject} failed: ${(err as Error).message}`,
          { retryable: true, cause: err },
        );
      }
    }
  }
}

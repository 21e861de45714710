/**
 * @module
 * Serving a request subject safely: every request is handled on its own (a slow or bad one never blocks the
 * ones behind it), every failure becomes a typed error reply, and nothing a client sends can crash the process.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { toErrorBody } from "../protocol/errors.ts";
import { encodeMessage } from "../protocol/validate.ts";
import type { Logger } from "../telemetry/logger.ts";

export type RequestHandler = (msg: Msg) => Promise<object>;

export function serve(
  nc: NatsConnection,
  subject: string,
  queue: string,
  handler: RequestHandler,
  log: Logger,
  onError?: (code: string) => void,
): Subscription {
  return nc.subscribe(subject, {
    queue,
    callback: (err, msg) => {
      if (err) {
        log.error({ err, subject }, "subscription error");
        return;
      }
      void answer(msg);
    },
  });

  async function answer(msg: Msg): Promise<void> {
    let reply: object;
    try {
      reply = await handler(msg);
    } catch (err) {
      const error = toErrorBody(err);
      onError?.(error.code);
      if (error.code === "HANDLER_ERROR" || error.code === "INTERNAL")
        log.error({ err, subject }, "request failed");
      else log.debug({ subject, code: error.code, message: error.message }, "request rejected");
      // Only our own failures are internal; the code of a typed error is kept.
      reply = {
        v: 1,
        ok: false,
        error: error.code === "HANDLER_ERROR" ? { ...error, code: "INTERNAL" } : error,
      };
    }
    if (!msg.reply) {
      log.warn({ subject }, "request without a reply subject: nothing to answer");
      return;
    }
    try {
      msg.respond(encodeMessage(reply));
    } catch (err) {
      log.warn({ err, subject }, "could not send reply");
    }
  }
}

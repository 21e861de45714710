/**
 * @module
 * What a failed publish means to a jetbus caller: a typed JetbusError, and whether anything may have been
 * stored (a timed-out publish is ambiguous; a rejected one is not).
 */
import { JetbusError } from "../protocol/errors.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetStreamPublishError, NoStreamError, PublishErrorCodes, PublishTimeoutError } from "./publisher.ts";

export function publishFailure(err: unknown): { error: JetbusError; maybeStored: boolean } {
  if (err instanceof NoStreamError) {
    return {
      error: new JetbusError(ErrorCodes.Unavailable, `JetStream is unavailable: ${err.description}`, {
        retryable: true,
      }),
      maybeStored: false,
    };
  }
  if (err instanceof PublishTimeoutError) {
    return {
      error: new JetbusError(
        ErrorCodes.Unavailable,
        `JetStream did not confirm in time: ${err.description}`,
        { retryable: true },
      ),
      maybeStored: true,
    };
  }
  if (err instanceof JetStreamPublishError) {
    if (
      err.code === PublishErrorCodes.MaxMessagesExceeded ||
      err.code === PublishErrorCodes.MaxBytesExceeded
    ) {
      return {
        error: new JetbusError(
          ErrorCodes.QueueFull,
          `queue is full: the jobs stream is at its limit (JETBUS_MAX_QUEUED_JOBS / JETBUS_MAX_QUEUED_BYTES); nothing was stored, try again later`,
          { retryable: true },
        ),
        maybeStored: false,
      };
    }
    if (err.code === PublishErrorCodes.MessageSizeExceeded) {
      return {
        error: new JetbusError(
          ErrorCodes.PayloadTooLarge,
          `message too large for the stream: ${err.description}`,
        ),
        maybeStored: false,
      };
    }
    return {
      error: new JetbusError(ErrorCodes.Internal, err.message, { retryable: err.retryable }),
      maybeStored: err.retryable,
    };
  }
  return { error: new JetbusError(ErrorCodes.Internal, String(err), { retryable: true }), maybeStored: true };
}

/** A publish the server or the stream refused for the message's size: the same bytes can never succeed. */
export function isSizeRefusal(err: unknown): boolean {
  if (err instanceof JetStreamPublishError) return err.code === PublishErrorCodes.MessageSizeExceeded;
  // nats.js refuses a payload over the connection's max_payload before sending it.
  return err instanceof Error && /max_payload|maximum payload/i.test(err.message);
}

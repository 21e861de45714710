/**
 * @module
 * A handler's result as it will be recorded: JSON, within `JETBUS_MAX_RESULT_BYTES` (UTF-8 bytes). One over
 * the limit fails its job with RESULT_TOO_LARGE (a code that ends retries) instead of vanishing; one that is
 * not JSON-serialisable is not recorded (the job still succeeds), as before.
 */
import { byteLength } from "../protocol/budgets.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetbusError } from "../protocol/errors.ts";
import type { Logger } from "../telemetry/logger.ts";

export function checkedResult(value: unknown, maxBytes: number, log: () => Logger): unknown {
  if (value === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    log().warn({ err: String(err) }, "handler result is not JSON-serialisable: not recorded");
    return undefined;
  }
  if (json === undefined) return undefined;
  const bytes = byteLength(json);
  if (bytes > maxBytes) {
    log().warn({ bytes, limit: maxBytes }, "handler result too large: the job fails");
    return new JetbusError(
      ErrorCodes.ResultTooLarge,
      `the handler's result is ${bytes} bytes, over JETBUS_MAX_RESULT_BYTES (${maxBytes})`,
      { details: { bytes, max_bytes: maxBytes } },
    );
  }
  return JSON.parse(json) as unknown;
}

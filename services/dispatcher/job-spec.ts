/**
 * @module
 * From a validated job request to a resolved JobSpec: queue defaulted, payload size and uniqueFor bounds
 * checked. Schema validation already rejected bad names, wrong types and negative durations.
 */
import type { JobSpec } from "../../shared/core/types.ts";
import { JetbusError, ValidationError } from "../../shared/protocol/errors.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import type { JobRequest } from "../../shared/protocol/schemas.ts";

export interface SpecLimits {
  maxPayloadBytes: number;
  uniqueMaxMs: number;
}

export function toJobSpec(req: JobRequest, queue: string, limits: SpecLimits, where = "job"): JobSpec {
  return resolveJob(req, queue, limits, where).spec;
}

/** `toJobSpec`, and the payload's JSON it measured (so the envelope can carry it without encoding it again). */
export function resolveJob(
  req: JobRequest,
  queue: string,
  limits: SpecLimits,
  where = "job",
): { spec: JobSpec; payloadJson: string } {
  const payload = req.payload ?? null;
  const payloadJson = JSON.stringify(payload);
  const size = Buffer.byteLength(payloadJson);
  if (size > limits.maxPayloadBytes) {
    throw new JetbusError(
      ErrorCodes.PayloadTooLarge,
      `${where}.payload is ${size} bytes; the limit is ${limits.maxPayloadBytes} (JETBUS_MAX_PAYLOAD_BYTES)`,
      { details: { size, limit: limits.maxPayloadBytes } },
    );
  }
  const options = req.options ?? {};
  if ((options.unique_for_ms ?? 0) > limits.uniqueMaxMs) {
    throw new ValidationError(
      `${where}.options.unique_for_ms is ${options.unique_for_ms}; the limit is ${limits.uniqueMaxMs} (JETBUS_UNIQUE_MAX_MS)`,
      {
        errors: [
          `${where}.options.unique_for_ms: must be at most ${limits.uniqueMaxMs} (JETBUS_UNIQUE_MAX_MS)`,
        ],
      },
    );
  }
  return { spec: { type: req.type, queue: req.queue ?? queue, payload, options }, payloadJson };
}

/**
 * @module
 * Cutting stored text and errors to their byte budget (the sizes are `BUDGETS` in shared/protocol/budgets.ts;
 * the literal types below make the compiler check they agree). Pure: the core bounds every error it copies
 * into a workflow record with it.
 */
import type { ErrorBody } from "../protocol/schemas.ts";
import type { BUDGETS } from "../protocol/budgets.ts";

export const STORED_ERROR_BYTES: (typeof BUDGETS)["storedErrorBytes"] = 8192;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const utf8Length = (s: string): number => encoder.encode(s).length;

export const truncationMarker = (droppedBytes: number): string => `…[truncated ${droppedBytes} bytes]`;

/** `text` cut to at most `maxBytes` UTF-8 bytes (marker included) on a character boundary. */
export function truncateText(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let keep = Math.max(0, maxBytes - utf8Length(truncationMarker(bytes.length)));
  // Back off to the start of a character, so the cut never leaves half of one.
  while (keep > 0 && (bytes[keep]! & 0xc0) === 0x80) keep--;
  return decoder.decode(bytes.subarray(0, keep)) + truncationMarker(bytes.length - keep);
}

/**
 * An error cut to its budget: the message keeps its start and gets the marker `…[truncated N bytes]`; details
 * that do not fit beside it are replaced by `{ truncated: true, bytes }`. The wire's error body has no room for
 * a flag (v1 readers refuse unknown fields), so the marker is the sign. An error within budget is returned as is.
 */
export function truncateError(error: ErrorBody, maxBytes: number = STORED_ERROR_BYTES): ErrorBody {
  const detailsJson = error.details === undefined ? "" : JSON.stringify(error.details);
  const detailsBytes = detailsJson === undefined ? 0 : utf8Length(detailsJson);
  const messageBytes = utf8Length(error.message);
  if (messageBytes + detailsBytes + utf8Length(error.code) + 64 <= maxBytes) return error;
  const out: ErrorBody = { code: error.code, message: error.message, retryable: error.retryable };
  const room = maxBytes - Math.min(utf8Length(error.code), 256) - 64;
  let detailsRoom = 0;
  if (error.details !== undefined) {
    if (detailsBytes <= room / 2) {
      out.details = error.details;
      detailsRoom = detailsBytes;
    } else {
      out.details = { truncated: true, bytes: detailsBytes };
      detailsRoom = 48;
    }
  }
  out.code = truncateText(error.code, 256);
  out.message = truncateText(error.message, Math.max(64, room - detailsRoom));
  return out;
}

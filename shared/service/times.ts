/**
 * @module
 * The system clock and calendar as the core's `Times` (the core reads neither itself).
 */
import type { Times } from "../protocol/dead-letter-filter.ts";

export function systemTimes(): Times {
  return {
    now: Date.now(),
    parseIso: (text) => Date.parse(text),
    format: (ms) => new Date(ms).toISOString(),
  };
}

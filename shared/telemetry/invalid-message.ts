/**
 * @module
 * One way to say a reader skipped something it could not trust: a warn line naming where and why, and
 * `jetbus_invalid_messages_total{source,reason}`. Readers never stop for a bad message; this is how it shows.
 */
import type { Logger } from "./logger.ts";
import { metrics } from "./metrics.ts";

export function skipInvalid(
  log: Pick<Logger, "warn"> | undefined,
  source: string,
  reason: string,
  fields: Record<string, unknown> = {},
): void {
  metrics.invalidMessages.inc({ source, reason });
  log?.warn({ source, reason, ...fields }, `invalid ${source} message skipped`);
}

/**
 * @module
 * Each dead-letter scan (a page, a count, a bulk action, a job lookup) makes a consumer on the server and
 * reads the stream: a few at a time is plenty for operators, and anyone who can reach the console could
 * otherwise start as many as they like. Over the cap a request is refused (RATE_LIMITED, 429), not queued.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { JetbusError } from "../../shared/protocol/errors.ts";
import type { ConsoleEnv } from "./deps.ts";

export class ScanSlots {
  private active = 0;

  constructor(readonly max: number) {}

  /** true when a slot was taken: give it back with `release` */
  take(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    return true;
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
  }
}

/** @example app.get("/api/dlq", scanSlot(slots)) */
export function scanSlot(slots: ScanSlots): MiddlewareHandler<ConsoleEnv> {
  return createMiddleware<ConsoleEnv>(async function scanSlot(_c, next) {
    if (!slots.take())
      throw new JetbusError(
        ErrorCodes.RateLimited,
        `${slots.max} dead-letter scans are running (JETBUS_CONSOLE_MAX_SCANS): try again in a moment`,
      );
    try {
      await next();
    } finally {
      slots.release();
    }
  });
}

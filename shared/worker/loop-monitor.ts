/**
 * @module
 * Detects a blocked event loop (a handler doing CPU work without yielding): its timeout cannot fire and its
 * heartbeats stop, so the job will be redelivered elsewhere. Logging it says why.
 */
import { metrics } from "../telemetry/metrics.ts";
import type { Logger } from "../telemetry/logger.ts";

export function monitorEventLoop(log: Logger, thresholdMs = 1_000, intervalMs = 200): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = now - last - intervalMs;
    last = now;
    if (lag > thresholdMs) {
      metrics.eventLoopBlocked.inc();
      log.warn(
        { blocked_ms: Math.round(lag) },
        "event loop was blocked: a handler is not yielding, so its timeout and heartbeats could not run",
      );
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * @module
 * JSON logs with pino. Every line carries the service name; lines about a job add `dispatch_id`, `job_id`,
 * `type`, `attempt` and the active `trace_id`/`span_id` (see `jobLogFields`).
 */
import { trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** JSON lines to stdout, or to `destination` (a test reading what was logged). */
export function createLogger(service: string, level = "info", destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Correlate with traces: whatever span is active when the line is written.
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const c = span.spanContext();
        return { trace_id: c.traceId, span_id: c.spanId };
      },
    },
    destination,
  );
}

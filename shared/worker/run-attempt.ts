/**
 * @module
 * One attempt with a deadline. At the deadline the signal aborts and the attempt counts as failed at once, so
 * the slot is freed even if the handler ignores the signal; such a handler keeps running in the background
 * and is counted (`jetbus_worker_abandoned_handlers`). A handler that blocks the event loop cannot be stopped
 * in-process: the loop monitor detects it, and the server redelivers the job when heartbeats stop.
 */
import { TimeoutError } from "../protocol/errors.ts";
import { metrics } from "../telemetry/metrics.ts";

export type AttemptResult = { ok: true; value: unknown } | { ok: false; error: unknown; timedOut: boolean };

/** The signal of an attempt without a deadline: it never aborts. */
const NEVER = new AbortController().signal;

/**
 * Runs `run` with the attempt's signal: one that aborts at `timeoutMs` (an AbortController is made only then),
 * or one that never does when there is no timeout.
 */
export async function runAttempt(
  run: (signal: AbortSignal) => Promise<unknown>,
  timeoutMs: number,
  what: () => string,
): Promise<AttemptResult> {
  const abort = timeoutMs > 0 ? new AbortController() : null;
  const work = run(abort?.signal ?? NEVER).then(
    (value): AttemptResult => ({ ok: true, value }),
    (error: unknown): AttemptResult => ({ ok: false, error, timedOut: false }),
  );
  if (!abort) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<AttemptResult>((resolve) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`${what()} timed out after ${timeoutMs} ms`);
      abort.abort(error);
      resolve({ ok: false, error, timedOut: true });
    }, timeoutMs);
  });
  const result = await Promise.race([work, deadline]);
  clearTimeout(timer);
  if (!result.ok && result.timedOut) {
    metrics.stuckHandlers.inc();
    void work.finally(() => metrics.stuckHandlers.dec());
  }
  return result;
}

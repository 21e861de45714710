/**
 * @module
 * Wall-clock milliseconds with sub-millisecond resolution. Producer and worker are separate processes, so
 * "first publish → last ack" subtracts timestamps taken in two processes: both must be on the epoch scale
 * (`performance.now()` alone starts at each process's own origin).
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

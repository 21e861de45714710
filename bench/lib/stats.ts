/** @module Summary statistics over small samples (runs, per-job latencies). */

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/**
 * Nearest-rank percentile (p in 0–100): always one of the samples, so p99 of 1,000 latencies is the 990th
 * smallest, never an interpolation between two jobs.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError("percentile of an empty sample");
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Rounds for printing: figures are noisy (±15%), extra digits only mislead. */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

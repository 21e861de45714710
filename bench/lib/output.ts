/**
 * @module
 * stdout carries ONLY the result lines (one JSON object per workload), so `npm run bench > results.jsonl`
 * is machine-readable; progress and child output go to stderr.
 */

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function printResult(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

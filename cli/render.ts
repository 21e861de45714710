/**
 * @module
 * Plain-text rendering for the CLI: aligned tables, workflow summaries and a progress bar.
 */
import type { BatchInfo, ChainInfo } from "../shared/protocol/workflow-info.ts";

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function progressBar(b: BatchInfo, width = 30): string {
  const ratio = b.total === 0 ? 0 : b.processed / b.total;
  const filled = Math.round(ratio * width);
  const state = b.cancelled ? "cancelled" : b.completed ? "completed" : b.sealed ? "running" : "creating";
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${b.processed}/${b.total} (${Math.floor(ratio * 100)}%) failed ${b.failed}  ${state}`;
}

export function renderBatch(b: BatchInfo): string {
  return (
    [
      `batch      ${b.batchId}${b.name ? ` (${b.name})` : ""}`,
      `queue      ${b.queue}${b.allowFailures ? "  (allow failures)" : ""}`,
      `state      ${b.cancelled ? "cancelled" : b.completed ? "completed" : b.sealed ? "running" : "creating"}`,
      `total      ${b.total}   pending ${b.pending}   processed ${b.processed}   failed ${b.failed}   skipped ${b.skipped}`,
      b.failure ? `failure    ${b.failure.code}: ${b.failure.message}` : null,
      `created    ${b.createdAt.toISOString()}   updated ${b.updatedAt.toISOString()}`,
    ]
      .filter(Boolean)
      .join("\n") + "\n"
  );
}

export function renderChain(c: ChainInfo): string {
  const steps = c.jobTypes
    .map((t, i) =>
      i < c.nextIndex
        ? `✓ ${t}`
        : i === c.nextIndex && c.failed
          ? `✗ ${t}`
          : i === c.nextIndex && !c.completed
            ? `… ${t}`
            : `  ${t}`,
    )
    .join("\n           ");
  return (
    [
      `chain      ${c.chainId}`,
      `queue      ${c.queue}`,
      `state      ${c.completed ? "completed" : c.failed ? "failed" : "running"}   next ${c.nextIndex}/${c.jobTypes.length}`,
      `steps      ${steps}`,
      c.failure ? `failure    ${c.failure.code}: ${c.failure.message}` : null,
      `created    ${c.createdAt.toISOString()}   updated ${c.updatedAt.toISOString()}`,
    ]
      .filter(Boolean)
      .join("\n") + "\n"
  );
}

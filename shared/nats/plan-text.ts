/**
 * @module
 * Plans in words, for the drift log line and `jetbus init`: `max_age: have 1h, want 1d`. Durations the server
 * keeps in nanoseconds are shown as durations, byte counts with their binary unit.
 */
import type { FieldDiff, Resource, ResourcePlan } from "./config-diff.ts";

const NANOS = new Set([
  "max_age",
  "duplicate_window",
  "subject_delete_marker_ttl",
  "ack_wait",
  "inactive_threshold",
  "idle_heartbeat",
  "max_expires",
]);
const BYTES = new Set(["max_bytes", "max_msg_size"]);

function duration(ms: number): string {
  if (ms === 0) return "0 (none)";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function bytes(n: number): string {
  if (n < 0) return "-1 (no limit)";
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return String(n);
}

export function formatValue(field: string, v: unknown): string {
  if (v === undefined) return "unset";
  if (typeof v === "number" && NANOS.has(field)) return duration(Math.round(v / 1e6));
  if (typeof v === "number" && BYTES.has(field)) return bytes(v);
  if (Array.isArray(v) && field === "backoff") return v.map((n) => duration(Number(n) / 1e6)).join(",");
  return JSON.stringify(v);
}

export function describeDiff(d: FieldDiff): string {
  return `${d.field}: have ${formatValue(d.field, d.have)}, want ${formatValue(d.field, d.want)}`;
}

export function describeResource(r: Resource): string {
  return r.kind === "consumer" ? `consumer ${r.stream}/${r.name}` : `${r.kind} ${r.name}`;
}

/** A label value for metrics: `stream:JETBUS_JOBS`, `consumer:JETBUS_JOBS/jobs-default-x-1a2b`. */
export function resourceLabel(r: Resource): string {
  return r.kind === "consumer" ? `consumer:${r.stream}/${r.name}` : `${r.kind}:${r.name}`;
}

/** The plan as lines for a terminal; empty when everything is in step. */
export function planLines(plans: ResourcePlan[], done = false): string[] {
  const lines: string[] = [];
  for (const p of plans) {
    const what = describeResource(p.resource);
    if (p.create) lines.push(`${done ? "created" : "create"} ${what}`);
    if (p.update.length > 0)
      lines.push(`${done ? "updated" : "update"} ${what}: ${p.update.map(describeDiff).join("; ")}`);
    if (p.blocked.length > 0) {
      lines.push(`cannot change ${what} in place: ${p.blocked.map(describeDiff).join("; ")}`);
      lines.push(`  to fix: ${p.fix}`);
    }
  }
  return lines;
}

/**
 * @module
 * Reading Linux's /proc for the bench: machine-wide CPU ticks, one process's CPU ticks, one process's memory.
 * Every reader returns null (or throws, for the machine) where /proc is missing, and the callers report null.
 */
import { readFileSync } from "node:fs";

/** All cores' clock ticks since boot, and how many of them were busy (idle and iowait count as idle). */
export function machineTicks(): { busy: number; total: number } {
  // user nice system idle iowait irq softirq steal
  const f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/**
 * A process's CPU in clock ticks (USER_HZ, 100 on Linux): its own `user` and `sys`, and `children`, what
 * its reaped children used; null when unreadable.
 */
export function processTicks(pid: number | "self"): { user: number; sys: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" closing the command name; utime is field 14 overall, index 11 here.
    const rest = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return { user: rest[11] ?? 0, sys: rest[12] ?? 0, children: (rest[13] ?? 0) + (rest[14] ?? 0) };
  } catch {
    return null;
  }
}

/** A memory line of `/proc/<pid>/status` (`VmRSS` now, `VmHWM` the peak) in MB; null when unreadable. */
export function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

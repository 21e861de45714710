/**
 * @module
 * How much of the machine processes OUTSIDE the benchmark used while it ran: all busy CPU time (/proc/stat)
 * minus the runner with its reaped children (utime+stime+cutime+cstime of /proc/self/stat) and the servers
 * (nats-server, Redis). On a 2-core machine a test suite running meanwhile halves the figures; this number,
 * printed with them, says whether that happened.
 */
import { readFileSync } from "node:fs";

function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** utime+stime (+cutime+cstime: children already waited for) of one process, in clock ticks. */
function processTicks(pid: number | "self"): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" closing the command name; utime is field 14 overall, index 11 here.
    const rest = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return (rest[11] ?? 0) + (rest[12] ?? 0) + (rest[13] ?? 0) + (rest[14] ?? 0);
  } catch {
    return 0;
  }
}

/** Starts measuring; `stop()` returns the foreign share of all cores' time in percent, or null without /proc. */
export function measureForeignCpu(serverPids: (number | undefined)[]): { stop(): number | null } {
  const pids: (number | "self")[] = ["self", ...serverPids.filter((p): p is number => p !== undefined)];
  const oursNow = () => pids.reduce((sum: number, p) => sum + processTicks(p), 0);
  let start: { busy: number; total: number; ours: number };
  try {
    start = { ...machineTicks(), ours: oursNow() };
  } catch {
    return { stop: () => null };
  }
  return {
    stop() {
      const end = machineTicks();
      const ours = oursNow() - start.ours;
      const total = end.total - start.total;
      if (total <= 0) return null;
      return Math.max(0, Math.round((100 * (end.busy - start.busy - ours)) / total));
    },
  };
}

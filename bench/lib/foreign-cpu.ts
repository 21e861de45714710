/**
 * @module
 * How much of the machine processes OUTSIDE the benchmark used while it ran: all busy CPU time (/proc/stat)
 * minus the runner with its reaped children (utime+stime+cutime+cstime of /proc/self/stat) and the servers
 * (nats-server, Redis). On a 2-core machine a test suite running meanwhile halves the figures; this number,
 * printed with them, says whether that happened.
 */
import { machineTicks, processTicks } from "./proc.ts";

/** utime+stime (+cutime+cstime: children already waited for) of one process, in clock ticks; 0 if gone. */
function ticksOf(pid: number | "self"): number {
  const t = processTicks(pid);
  return t ? t.user + t.sys + t.children : 0;
}

/** Starts measuring; `stop()` returns the foreign share of all cores' time in percent, or null without /proc. */
export function measureForeignCpu(serverPids: (number | undefined)[]): { stop(): number | null } {
  const pids: (number | "self")[] = ["self", ...serverPids.filter((p): p is number => p !== undefined)];
  const oursNow = () => pids.reduce((sum: number, p) => sum + ticksOf(p), 0);
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

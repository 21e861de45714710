/**
 * @module
 * Peak resident memory of the processes in a run. Our own children report `process.resourceUsage().maxRSS`
 * at exit; servers we do not control (nats-server, Redis) are sampled from `/proc/<pid>/status`, because their
 * lifetime peak (VmHWM) spans every workload that ran before.
 */
import { statusMb } from "./proc.ts";

export function selfPeakRssMb(): number {
  // maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

/** Polls a process's RSS until `stop()`, which returns the highest value seen (null if unreadable). */
export function sampleRss(pid: number | undefined, everyMs = 50): { stop(): number | null } {
  if (pid === undefined) return { stop: () => null };
  let peak = statusMb(pid, "VmRSS");
  const timer = setInterval(() => {
    const now = statusMb(pid, "VmRSS");
    if (now !== null && (peak === null || now > peak)) peak = now;
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const last = statusMb(pid, "VmRSS");
      return last !== null && (peak === null || last > peak) ? last : peak;
    },
  };
}

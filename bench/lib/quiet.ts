/**
 * @module
 * On a 2-core machine anything else running (a test suite, a build) moves the figures by far more than the
 * differences being measured. `cpuBusyPercent()` measures how busy the machine is right before a run, and
 * `waitForQuiet()` (opt-in: BENCH_WAIT_QUIET=1) holds the run until it is idle, so figures from a shared
 * machine can be trusted (foreign-cpu.ts then says whether it stayed quiet).
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "./output.ts";

function cpuTimes(): { idle: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // user nice system idle iowait irq softirq steal: idle + iowait count as idle.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** Share of all cores' time spent busy over `windowMs` (0–100); null where /proc/stat is missing. */
export async function cpuBusyPercent(windowMs = 1000): Promise<number | null> {
  try {
    const a = cpuTimes();
    await sleep(windowMs);
    const b = cpuTimes();
    const total = b.total - a.total;
    return total > 0 ? Math.round((100 * (total - (b.idle - a.idle))) / total) : null;
  } catch {
    return null;
  }
}

/** Waits (up to `maxWaitMs`) until the machine stayed below `busyPercent` busy for three 2-second windows. */
export async function waitForQuiet(busyPercent = 15, maxWaitMs = 600_000): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  let quietWindows = 0;
  for (;;) {
    const busy = await cpuBusyPercent(2000);
    if (busy === null) return;
    quietWindows = busy < busyPercent ? quietWindows + 1 : 0;
    if (quietWindows >= 3) return;
    if (quietWindows > 0) continue;
    if (Date.now() > deadline) {
      log(`machine still ${busy}% busy after ${maxWaitMs / 1000} s: running anyway, figures are suspect`);
      return;
    }
    log(`machine ${busy}% busy (other processes): waiting for it to be quiet`);
    await sleep(5000);
  }
}

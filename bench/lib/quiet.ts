/**
 * @module
 * On a 2-core machine anything else running (a test suite, a build) moves the figures by far more than the
 * differences being measured. `cpuBusyPercent()` measures how busy the machine is right before a run, and
 * `waitForQuiet()` (opt-in: BENCH_WAIT_QUIET=1) holds the run until it is idle, so figures from a shared
 * machine can be trusted (foreign-cpu.ts then says whether it stayed quiet).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "./output.ts";
import { machineTicks } from "./proc.ts";

/** Share of all cores' time spent busy over `windowMs` (0–100); null where /proc/stat is missing. */
export async function cpuBusyPercent(windowMs = 1000): Promise<number | null> {
  try {
    const a = machineTicks();
    await sleep(windowMs);
    const b = machineTicks();
    const total = b.total - a.total;
    return total > 0 ? Math.round((100 * (b.busy - a.busy)) / total) : null;
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

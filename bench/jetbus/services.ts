/**
 * @module
 * The jetbus services as real processes (`node bin/jetbus.mjs dispatcher|coordinator|worker`), the way they are
 * deployed. Readiness: the "<name> ready" log line, or `/readyz` answering 200 — at LOG_LEVEL=warn the ready
 * line (logged at info) is not written, so each service gets a free HTTP port picked here and is polled.
 * Peak RSS is the kernel's high-water mark (`VmHWM`) read just before the process is stopped; CPU time is
 * read from `/proc/<pid>/stat`. Every process started here is SIGKILLed if the runner exits first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { log } from "../lib/output.ts";
import { processTicks, statusMb } from "../lib/proc.ts";

export type ServiceName = "dispatcher" | "coordinator" | "worker";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly pid: number;
  /** the last log lines (warnings and errors at LOG_LEVEL=warn) */
  readonly lines: string[];
  /** Heap and RSS in MB from the service's own `/metrics` (prom-client default metrics); {} if unreadable. */
  memoryMb(): Promise<Record<string, number>>;
  /** SIGTERM (graceful drain), SIGKILL after `graceMs`; resolves once it exited */
  stop(graceMs?: number): Promise<void>;
  kill(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Inherited environment without any OTEL_* variable: tracing is on only where a run asks for it. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTEL_")) env[k] = v;
  return env;
}

export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...nodeArgs, resolve(root, "bin/jetbus.mjs"), name], {
    cwd: root,
    env: {
      ...baseEnv(),
      LOG_LEVEL: "warn",
      ...env,
      JETBUS_HTTP_HOST: "127.0.0.1",
      JETBUS_HTTP_PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  const lines: string[] = [];
  let sawReady = false;
  const onLine = (line: string) => {
    if (line.includes(`"${name} ready"`)) sawReady = true;
    lines.push(line);
    if (lines.length > 200) lines.shift();
    // Warnings and errors only (LOG_LEVEL=warn): show them with the progress output.
    log(`${name}: ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
  };
  createInterface({ input: proc.stdout! }).on("line", onLine);
  createInterface({ input: proc.stderr! }).on("line", onLine);
  let exitedFlag = false;
  const exited = new Promise<void>((res) =>
    proc.once("exit", () => {
      exitedFlag = true;
      live.delete(proc);
      res();
    }),
  );
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  };
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exitedFlag) throw new Error(`${name} exited before it was ready:\n${lines.slice(-20).join("\n")}`);
      if (sawReady || (await readyz(port))) break;
      if (Date.now() > deadline) throw new Error(`${name} not ready within ${timeoutMs} ms`);
      await sleep(25);
    }
  } catch (err) {
    kill();
    throw err;
  }
  return {
    name,
    pid: proc.pid!,
    lines,
    kill,
    memoryMb: () => memoryFromMetrics(port),
    async stop(graceMs = 30_000) {
      if (exitedFlag) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(kill, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function readyz(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

const MEMORY_METRICS: Record<string, string> = {
  jetbus_process_resident_memory_bytes: "rss",
  jetbus_nodejs_heap_size_used_bytes: "heap_used",
  jetbus_nodejs_heap_size_total_bytes: "heap_total",
  jetbus_nodejs_external_memory_bytes: "external",
};

async function memoryFromMetrics(port: number): Promise<Record<string, number>> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    const out: Record<string, number> = {};
    for (const line of (await res.text()).split("\n")) {
      const [name, value] = line.split(" ");
      const key = name ? MEMORY_METRICS[name] : undefined;
      if (key && value) out[key] = Math.round(Number(value) / 1048576);
    }
    return out;
  } catch {
    return {};
  }
}

/** Peak resident memory of a live process (its VmHWM) in MB; null when unreadable. */
export const peakRssMb = (pid: number): number | null => statusMb(pid, "VmHWM");

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time of a live process in ms, and how much of it the kernel spent (stime); null when unreadable. */
export function cpuSplitMs(pid: number): { total: number; sys: number } | null {
  const t = processTicks(pid);
  return t ? { total: (t.user + t.sys) * TICK_MS, sys: t.sys * TICK_MS } : null;
}

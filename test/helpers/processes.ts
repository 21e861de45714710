/**
 * @module
 * Services as real processes (`node bin/jetbus.mjs <service>`), for the tests where it matters: kill -9,
 * SIGTERM drains, two replicas. Output is kept (shown when a test fails); readiness is the service's
 * "<name> ready" log line, never a sleep.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { deferred } from "../../shared/testkit/wait.ts";
import { FAST_ENV, type Env } from "./mesh.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  /** every log line so far (JSON lines from pino) */
  lines: string[];
  /** resolves with the first line matching */
  waitForLine(match: RegExp | string, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  /** SIGTERM and wait for exit (graceful drain) */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (a crash) */
  kill(): Promise<number | null>;
}

export async function spawnService(
  name: "dispatcher" | "coordinator" | "worker",
  natsUrl: string,
  env: Env = {},
  opts: { waitReady?: boolean; readyTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const proc = spawn(process.execPath, [resolve(root, "bin/jetbus.mjs"), name], {
    env: { ...process.env, ...FAST_ENV, JETBUS_HTTP_PORT: "0", LOG_LEVEL: "info", ...env, NATS_URL: natsUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  const lines: string[] = [];
  const watchers: { match: RegExp | string; resolve: (l: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...watchers]) {
      if (typeof w.match === "string" ? line.includes(w.match) : w.match.test(line)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on("line", onLine);
  createInterface({ input: proc.stderr! }).on("line", onLine);
  const exited = new Promise<number | null>((res) =>
    proc.once("exit", (code, signal) => {
      live.delete(proc);
      res(code ?? (signal ? 128 : null));
    }),
  );
  const sp: ServiceProcess = {
    name,
    proc,
    lines,
    waitForLine(match, timeoutMs = 20_000) {
      const existing = lines.find((l) => (typeof match === "string" ? l.includes(match) : match.test(l)));
      if (existing) return Promise.resolve(existing);
      const d = deferred<string>();
      watchers.push({ match, resolve: (l) => d.resolve(l) });
      void exited.then(
        (code) =>
          d.settled ||
          d.reject(
            new Error(
              `${name} exited (${code}) before logging ${String(match)}:\n${lines.slice(-30).join("\n")}`,
            ),
          ),
      );
      return d.wait(timeoutMs, `${name} to log ${String(match)}\n${lines.slice(-30).join("\n")}`);
    },
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    // A process that never got ready is killed: left running, its pipes would keep the test file alive.
    await sp.waitForLine(`"${name} ready"`, opts.readyTimeoutMs).catch(async (err: unknown) => {
      await sp.kill();
      throw err;
    });
  }
  return sp;
}

/** The fixture handlers (test/fixtures/process-handlers.ts) that worker processes run. */
export const FIXTURE_HANDLERS = resolve(root, "test/fixtures/process-handlers.ts");

/** A worker process running the fixture handlers on `queues`. */
export function spawnWorker(
  natsUrl: string,
  queues: string[],
  env: Env = {},
  opts: { waitReady?: boolean; readyTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  return spawnService(
    "worker",
    natsUrl,
    {
      JETBUS_HANDLERS: FIXTURE_HANDLERS,
      JETBUS_QUEUES: queues.join(","),
      ...env,
    },
    opts,
  );
}

/** Starting 6–9 processes at once on 2 busy cores can take longer than the usual 20 s. */
const READY_TIMEOUT_MS = 40_000;

/**
 * The service processes one test file starts. Each joins the pool as soon as it is ready (so a failed start in
 * `before` still leaves nothing running); `stopAll()` drains them (SIGTERM), `killAll()` ends them at once.
 */
export class ProcessPool {
  private readonly procs: ServiceProcess[] = [];

  /** `url` is read at spawn time: the file's server usually starts in a `before` hook. */
  constructor(private readonly url: () => string) {}

  async spawn(name: "dispatcher" | "coordinator" | "worker", env: Env = {}): Promise<ServiceProcess> {
    return this.track(await spawnService(name, this.url(), env, { readyTimeoutMs: READY_TIMEOUT_MS }));
  }

  /** A worker process running the fixture handlers on `queues`. */
  async worker(queues: string[], env: Env = {}): Promise<ServiceProcess> {
    return this.track(await spawnWorker(this.url(), queues, env, { readyTimeoutMs: READY_TIMEOUT_MS }));
  }

  track<P extends ServiceProcess>(p: P): P {
    this.procs.push(p);
    return p;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.procs.map((p) => p.stop()));
  }

  async killAll(): Promise<void> {
    await Promise.allSettled(this.procs.map((p) => p.kill()));
  }
}

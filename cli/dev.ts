/**
 * @module
 * `npm start` (`jetbus dev`): the whole mesh on one machine. Without NATS_URL it runs its own nats-server
 * (2.12+, fetched into .jetbus/bin on first use where apt exists; JetStream data in .jetbus/nats, or
 * $JETBUS_DEV_DIR/nats), then starts the dispatcher, the coordinator, a worker with the example
 * handlers and the console as separate processes, runs a small demo (jobs, a retry, a dead letter, a delay, a
 * chain and batches with callbacks) printing the events as they happen, and keeps the mesh up until Ctrl-C.
 * The services' own lines are shown from `warn` up (LOG_LEVEL=info shows them all), each cut to one screen
 * line's worth, so the demo's output stays readable. The console gets a `dev` operator with a fresh token,
 * printed with its URL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { ensureNatsServerBinary } from "../shared/testkit/ensure-nats-server.ts";
import { startNatsServer, type NatsServer } from "../shared/testkit/nats-server.ts";
import { hashSecret } from "../services/console/operators.ts";
import { runDemo } from "./demo.ts";
import { initDevLayout } from "./init.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Child {
  name: string;
  proc: ChildProcess;
  ready: Promise<void>;
  /** the HTTP port the service logged at start */
  httpPort: Promise<number>;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const SHOWN = LEVELS.indexOf(process.env.LOG_LEVEL ?? "warn");
const MAX_LINE = 240;

function print(name: string, line: string): void {
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, service: _s, pid: _p, ...rest } = j;
    if (LEVELS.indexOf(String(level)) < SHOWN) return;
    const extra = Object.entries(rest)
      .filter(([k]) => !["trace_id", "span_id", "hostname"].includes(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const text = `[${name}] ${String(level).padEnd(5)} ${String(msg)}${extra ? `  ${extra}` : ""}`;
    process.stdout.write(`${text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text}\n`);
  } catch {
    process.stdout.write(`[${name}] ${line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line}\n`);
  }
}

function startChild(name: string, env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [resolve(root, "bin/jetbus.mjs"), name], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // A process group of its own: Ctrl-C reaches only this runner, which then sends each service one SIGTERM.
    // In the terminal's group a service would get Ctrl-C's SIGINT and then the SIGTERM, and take the second
    // signal as "exit now" instead of draining.
    detached: true,
  });
  let markReady!: () => void;
  let fail!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    fail = rej;
  });
  let gotPort!: (port: number) => void;
  const httpPort = new Promise<number>((res) => (gotPort = res));
  for (const stream of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (line.includes(`"${name} ready"`)) markReady();
      const port = /"http_port":(\d+)/.exec(line)?.[1];
      if (port) gotPort(Number(port));
      print(name, line);
    });
  }
  proc.once("exit", (code) => fail(new Error(`${name} exited with code ${code} before it was ready`)));
  return { name, proc, ready, httpPort };
}

export async function dev(): Promise<void> {
  let server: NatsServer | null = null;
  let url = process.env.NATS_URL;
  if (!url) {
    let binary: { path: string; version: string };
    try {
      // Fetches the newest Debian-testing build into .jetbus/bin when there is no current one (and apt exists).
      binary = ensureNatsServerBinary();
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\nOr point NATS_URL at a running nats-server 2.12+.\n`);
      process.exit(1);
    }
    server = await startNatsServer({
      binary: binary.path,
      storeDir: resolve(process.env.JETBUS_DEV_DIR ?? resolve(root, ".jetbus"), "nats"),
      keepStore: true,
      name: "jetbus-dev",
    });
    url = server.url;
    process.stdout.write(`nats-server v${binary.version} (${binary.path})\n`);
    process.stdout.write(`nats-server with JetStream on ${url} (data in ${server.storeDir})\n`);
    // Its own store: bring what an older version made in step (services never change what exists).
    await initDevLayout({ ...process.env, NATS_URL: url });
  }
  const env = {
    ...process.env,
    NATS_URL: url,
    JETBUS_HTTP_PORT: process.env.JETBUS_HTTP_PORT ?? "0",
    // The runner reads the services' start and ready lines; what it shows is filtered by print().
    LOG_LEVEL:
      process.env.LOG_LEVEL === "debug" || process.env.LOG_LEVEL === "trace" ? process.env.LOG_LEVEL : "info",
  };
  const consoleToken = randomBytes(18).toString("base64url");
  const children = [
    startChild("dispatcher", env),
    startChild("coordinator", env),
    startChild("worker", {
      ...env,
      JETBUS_HANDLERS: process.env.JETBUS_HANDLERS ?? resolve(root, "examples/handlers.ts"),
    }),
    startChild("console", {
      ...env,
      JETBUS_HTTP_PORT: process.env.JETBUS_CONSOLE_PORT ?? "0",
      JETBUS_CONSOLE_USERS: process.env.JETBUS_CONSOLE_USERS ?? `dev:${await hashSecret(consoleToken)}`,
    }),
  ];

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping the mesh…\n");
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.proc.exitCode !== null) return res();
            c.proc.once("exit", () => res());
            c.proc.kill("SIGTERM");
          }),
      ),
    );
    await server?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    await Promise.all(children.map((c) => c.ready));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await stop(1);
    return;
  }
  const consolePort = await children.find((c) => c.name === "console")!.httpPort;
  const consoleLine = `console: http://127.0.0.1:${consolePort}/${process.env.JETBUS_CONSOLE_USERS ? "" : `  (operator dev, token ${consoleToken})`}`;
  process.stdout.write(`${consoleLine}\n`);
  await runDemo(url);
  process.stdout.write(
    `\n${consoleLine}\nThe mesh keeps running. Try:  NATS_URL=${url} npx jetbus queues   |   Ctrl-C stops everything.\n`,
  );
}

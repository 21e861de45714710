/**
 * @module
 * `npm start` (`jetbus dev`): the whole mesh on one machine. Without NATS_URL it runs its own nats-server
 * (2.12+, fetched into .jetbus/bin on first use where apt exists; JetStream data in .jetbus/nats, or
 * $JETBUS_DEV_DIR/nats), then starts the dispatcher, the coordinator and a worker with the example
 * handlers as separate processes, runs a small demo (jobs, a retry, a dead letter, a delay, a chain and
 * batches with callbacks) printing the events as they happen, and keeps the mesh up until Ctrl-C.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { ensureNatsServerBinary } from "../shared/testkit/ensure-nats-server.ts";
import { startNatsServer, type NatsServer } from "../shared/testkit/nats-server.ts";
import { runDemo } from "./demo.ts";
import { initDevLayout } from "./init.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Child {
  name: string;
  proc: ChildProcess;
  ready: Promise<void>;
}

function print(name: string, line: string): void {
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, service: _s, pid: _p, ...rest } = j;
    const extra = Object.entries(rest)
      .filter(([k]) => !["trace_id", "span_id", "hostname"].includes(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    process.stdout.write(`[${name}] ${String(level).padEnd(5)} ${String(msg)}${extra ? `  ${extra}` : ""}\n`);
  } catch {
    process.stdout.write(`[${name}] ${line}\n`);
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
  for (const stream of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (line.includes(`"${name} ready"`)) markReady();
      print(name, line);
    });
  }
  proc.once("exit", (code) => fail(new Error(`${name} exited with code ${code} before it was ready`)));
  return { name, proc, ready };
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
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  const children = [
    startChild("dispatcher", env),
    startChild("coordinator", env),
    startChild("worker", {
      ...env,
      JETBUS_HANDLERS: process.env.JETBUS_HANDLERS ?? resolve(root, "examples/handlers.ts"),
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
  await runDemo(url);
  process.stdout.write(
    `\nThe mesh keeps running. Try:  NATS_URL=${url} npx jetbus queues   |   Ctrl-C stops everything.\n`,
  );
}

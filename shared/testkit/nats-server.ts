/**
 * @module Starts a real `nats-server` per test file, on ports the server picks itself.
 *
 * The server binds `-p -1 -m -1` and reports what it got in `nats-server_<pid>.ports`, so concurrent test
 * files never race for a port and never touch the shared server on 4222. A start resolves only once the
 * client port accepts connections and (with JetStream) `/healthz` says JetStream is enabled, so callers can
 * create streams at once. `restart()` pins the ports it first got and reuses the store, like a real node
 * coming back.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { requireNatsServerBinary } from "./nats-binary.ts";
import { acceptsTcp, getJson, portOf, readPortsFile, type PortsFile } from "./probes.ts";
import { RingBuffer } from "./ring-buffer.ts";
import { forgetTempDir, ServerProcess, trackTempDir } from "./server-process.ts";
import { waitFor } from "./wait.ts";

export { findNatsServerBinary, NatsServerNotFoundError } from "./nats-binary.ts";

export interface StartNatsServerOptions {
  /** Passes `-js`. @defaultValue true */
  jetstream?: boolean;
  /** JetStream store (`-sd`). @defaultValue a fresh directory under the OS temp dir, removed by `stop()` */
  storeDir?: string;
  /** Extra command-line flags, placed last so they override the launcher's own. */
  args?: string[];
  /** Configuration file text (written to the server's temp dir and passed with `-c`); flags win over it. */
  config?: string;
  /**
   * An existing configuration file, passed with `-c` as it is (its `include`s resolve from its own folder);
   * flags win over it. Ignored when `config` is given.
   */
  configFile?: string;
  /** Extra environment for the server process: a configuration's `$VARIABLE`s that it does not define itself. */
  env?: Record<string, string>;
  /** `server_name`; must be unique within a cluster. Also names the temp dir and error messages. */
  name?: string;
  /** Keep the temp dir (and default store) after `stop()`, e.g. to `restart()` later or inspect it. */
  keepStore?: boolean;
  /** Bound for one start, from spawn to ready. @defaultValue 10_000 */
  startTimeoutMs?: number;
  /** Path to a specific executable. @defaultValue {@link findNatsServerBinary} */
  binary?: string;
}

export interface RestartOptions {
  /** SIGKILL instead of a graceful SIGTERM: simulates a crash. @defaultValue false */
  kill?: boolean;
}

export class NatsServerStartError extends Error {
  override readonly name = "NatsServerStartError";
  readonly code = "NATS_SERVER_START_FAILED";

  constructor(
    message: string,
    readonly logs: string,
    options?: ErrorOptions,
  ) {
    super(`${message}\n--- nats-server output (last lines) ---\n${logs.trimEnd()}\n---`, options);
  }

  /** A pinned port (restart) or a pre-allocated cluster port was taken meanwhile: worth another try. */
  get addressInUse(): boolean {
    return /address already in use/i.test(this.logs);
  }
}

let launchCount = 0;

export class NatsServer implements AsyncDisposable {
  readonly name: string;
  readonly storeDir: string;
  readonly workDir: string;
  readonly #opts: StartNatsServerOptions;
  readonly #binary: string;
  readonly #ownsStore: boolean;
  readonly #output = new RingBuffer(64 * 1024);
  #process: ServerProcess | undefined;
  #portsFile = "";
  #ports: PortsFile | undefined;
  #storeRemoved = false;

  private constructor(opts: StartNatsServerOptions, binary: string, workDir: string, name: string) {
    this.#opts = opts;
    this.#binary = binary;
    this.workDir = workDir;
    this.name = name;
    this.#ownsStore = opts.storeDir === undefined;
    this.storeDir = opts.storeDir ?? join(workDir, "store");
  }

  /** `nats://127.0.0.1:<port>`; unchanged across restarts. */
  get url(): string {
    return this.#portsOrThrow().nats[0]!;
  }

  get port(): number {
    return portOf(this.url);
  }

  get monitorUrl(): string {
    return this.#portsOrThrow().monitoring![0]!;
  }

  /** Route URL when a `cluster {}` block is configured. */
  get clusterUrl(): string | undefined {
    return this.#portsOrThrow().cluster?.[0];
  }

  /** Of the current (or last) process; changes on every restart. */
  get pid(): number {
    const pid = this.#process?.pid;
    if (pid === undefined) throw new Error(`nats-server "${this.name}" is not running`);
    return pid;
  }

  get running(): boolean {
    return this.#process !== undefined && !this.#process.hasExited;
  }

  /** Recent stdout+stderr across all launches (about the last 64 KB). */
  logs(): string {
    return this.#output.toString();
  }

  /** Graceful shutdown, then removes the temp dirs this launcher created (unless `keepStore`). Idempotent. */
  async stop(): Promise<void> {
    await this.#terminate("SIGTERM");
    if (this.#opts.keepStore) return;
    forgetTempDir(this.workDir);
    await rm(this.workDir, { recursive: true, force: true, maxRetries: 3 });
    if (this.#ownsStore) this.#storeRemoved = true;
  }

  /** SIGKILL and wait for the process to be gone; the store stays, as after a crash. */
  async kill(): Promise<void> {
    await this.#terminate("SIGKILL");
  }

  /** Stops (or kills) the server, then starts it again on the same ports with the same store. */
  async restart({ kill = false }: RestartOptions = {}): Promise<void> {
    if (this.#storeRemoved) {
      throw new Error(
        `nats-server "${this.name}": stop() removed its store; pass keepStore: true to restart later`,
      );
    }
    await this.#terminate(kill ? "SIGKILL" : "SIGTERM");
    // A pinned port can be briefly held by someone else (e.g. an outgoing connection given it meanwhile).
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#launch();
      } catch (err) {
        if (!(err instanceof NatsServerStartError && err.addressInUse) || attempt >= 5) throw err;
        await sleep(100 * attempt);
      }
    }
  }

  /**
   * Polls the full `/healthz`: in a cluster it also requires contact with the meta leader and every stream and
   * consumer assigned here to be current — use it after restarting a cluster node.
   */
  async waitForHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(`nats-server "${this.name}" /healthz`, () => isOk(`${this.monitorUrl}/healthz`), {
      timeoutMs,
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Use {@link startNatsServer}. */
  static async start(opts: StartNatsServerOptions = {}): Promise<NatsServer> {
    const binary = requireNatsServerBinary(opts.binary);
    const name = opts.name ?? `jetbus-test-${process.pid}-${++launchCount}`;
    const workDir = await mkdtemp(join(tmpdir(), `${name.replace(/[^\w.-]/g, "_")}-`));
    const server = new NatsServer(opts, binary, workDir, name);
    try {
      await server.#launch();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  async #launch(): Promise<void> {
    const opts = this.#opts;
    await mkdir(this.workDir, { recursive: true });
    if (!opts.keepStore) trackTempDir(this.workDir);
    const args = ["-a", "127.0.0.1", "--server_name", this.name, "--ports_file_dir", this.workDir];
    // Pinning the ports after the first start is what lets clients (and cluster peers) find a restarted node.
    const [port, monitorPort] = this.#ports ? [this.port, portOf(this.monitorUrl)] : [-1, -1];
    args.push("-p", String(port), "-m", String(monitorPort));
    if (opts.config !== undefined) {
      const configFile = join(this.workDir, "server.conf");
      await writeFile(configFile, opts.config);
      args.unshift("-c", configFile);
    } else if (opts.configFile !== undefined) args.unshift("-c", opts.configFile);
    if (opts.jetstream ?? true) args.push("-js", "-sd", this.storeDir);
    args.push(...(opts.args ?? []));

    const proc = new ServerProcess(this.#binary, args, this.#output, opts.env);
    this.#process = proc;
    this.#portsFile = join(this.workDir, `${basename(this.#binary, ".exe")}_${proc.pid}.ports`);
    const abort = new AbortController();
    void proc.exited.then(() => abort.abort(new Error(`exited during startup (${proc.describeExit()})`)));

    // One deadline for the whole start, shared by its successive waits.
    const deadline = performance.now() + (opts.startTimeoutMs ?? 10_000);
    const remaining = () => ({
      intervalMs: 10,
      signal: abort.signal,
      timeoutMs: Math.max(1, deadline - performance.now()),
    });
    try {
      const ports = await waitFor("the ports file", () => readPortsFile(this.#portsFile), remaining());
      const monitorUrl = ports.monitoring?.[0];
      if (!monitorUrl) throw new Error(`ports file has no monitoring URL: ${JSON.stringify(ports)}`);
      const clientPort = portOf(ports.nats[0]!);
      await waitFor(`client port ${clientPort}`, () => acceptsTcp(clientPort), remaining());
      if (opts.jetstream ?? true) {
        const healthz = `${monitorUrl}/healthz?js-enabled-only=true`;
        await waitFor("JetStream to be enabled", () => isOk(healthz), remaining());
      }
      this.#ports = ports;
    } catch (err) {
      // Decided before we kill it ourselves, which would abort the signal too.
      const reason = abort.signal.aborted ? (abort.signal.reason as Error) : (err as Error);
      await this.#terminate("SIGKILL");
      const message = `nats-server "${this.name}" failed to start: ${reason.message}`;
      throw new NatsServerStartError(message, this.logs(), { cause: err });
    }
  }

  async #terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    if (!this.#process) return;
    await this.#process.terminate(signal);
    // A graceful exit removes the ports file itself; after SIGKILL it would linger.
    await rm(this.#portsFile, { force: true });
  }

  #portsOrThrow(): PortsFile {
    if (!this.#ports) throw new Error(`nats-server "${this.name}" has not started`);
    return this.#ports;
  }
}

async function isOk(url: string): Promise<boolean> {
  const body = await getJson<{ status?: string }>(url, 1_000);
  return body.status === "ok";
}

/**
 * Starts one server; see {@link StartNatsServerOptions}. Throws {@link NatsServerNotFoundError} without a
 * binary and {@link NatsServerStartError} (with the server's output) if it does not become ready.
 *
 * @example
 * let server: NatsServer;
 * before(async () => (server = await startNatsServer()));
 * after(() => server.stop());
 */
export function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.start(opts);
}

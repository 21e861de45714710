/**
 * @module
 * Parent side of a benchmark child process: `node --import tsx <file>` with an IPC channel. Every side of a
 * workload runs its producer and its worker in processes of their own, so each one's peak RSS and CPU is its
 * own and the runner's bookkeeping never competes with them. Messages are `{type, …}` objects; a child that
 * fails sends `{type: "error"}` or exits, and every pending wait rejects at once instead of hanging.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { ChildMessage } from "./child-side.ts";

export type { ChildMessage };

type Waiter = {
  type: string;
  resolve: (msg: ChildMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
};

export class BenchChild {
  readonly name: string;
  readonly #proc: ChildProcess;
  readonly #inbox: ChildMessage[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #exited: Promise<void>;
  #failure: Error | undefined;
  #stopping = false;

  private constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.#proc = proc;
    proc.on("message", (msg: ChildMessage) => this.#onMessage(msg));
    this.#exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        if (!this.#stopping)
          this.#fail(new Error(`${name} exited unexpectedly (code ${code}, signal ${signal})`));
        resolve();
      });
    });
  }

  /** Spawns `file` and resolves once it sent `{type: "ready"}` (connections made, outside any timing). */
  static async start(file: string, name: string, env: Record<string, string>): Promise<BenchChild> {
    const proc = spawn(process.execPath, ["--import", "tsx", file], {
      env: { ...process.env, ...env },
      // A child's stdout must not reach ours: stdout is reserved for the result lines.
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    proc.stdout?.pipe(process.stderr);
    const child = new BenchChild(name, proc);
    try {
      await child.next("ready", 60_000);
    } catch (err) {
      child.kill();
      throw err;
    }
    return child;
  }

  send(msg: ChildMessage): void {
    if (this.#failure) throw this.#failure;
    this.#proc.send(msg);
  }

  /** The next message of `type` (queued ones first). */
  next<T extends ChildMessage = ChildMessage>(type: string, timeoutMs = 300_000): Promise<T> {
    const i = this.#inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0] as T);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = { type, resolve: (m) => resolve(m as T), reject, timer };
      this.#waiters.push(waiter);
    });
  }

  /** Sends a command and waits for its `{type: "done"}` reply. */
  async request<T extends ChildMessage = ChildMessage>(msg: ChildMessage, timeoutMs?: number): Promise<T> {
    this.send(msg);
    return this.next<T>("done", timeoutMs);
  }

  /** Asks the child to close its connections and exit; resolves with its peak RSS in MB. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    if (this.#failure) {
      this.kill();
      return null;
    }
    const rss = this.next<ChildMessage & { maxRssMb: number }>("rss", timeoutMs);
    this.#stopping = true;
    this.#proc.send({ type: "exit" });
    try {
      return (await rss).maxRssMb;
    } finally {
      await this.#exited;
    }
  }

  kill(): void {
    this.#stopping = true;
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill("SIGKILL");
  }

  #onMessage(msg: ChildMessage): void {
    if (msg.type === "error") {
      this.#fail(new Error(`${this.name}: ${String(msg.message)}`));
      return;
    }
    const i = this.#waiters.findIndex((w) => w.type === msg.type);
    if (i < 0) {
      this.#inbox.push(msg);
      return;
    }
    const [w] = this.#waiters.splice(i, 1);
    clearTimeout(w!.timer);
    w!.resolve(msg);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

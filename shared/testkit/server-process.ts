/**
 * @module A spawned server process: output captured in a ring buffer, bounded termination, no orphans.
 *
 * Test runners end a file's process when its tests are done; a server someone forgot to stop (or whose
 * `before()` threw half-way) must not outlive it or keep it from exiting, and its temp dirs must go too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import type { Socket } from "node:net";
import type { RingBuffer } from "./ring-buffer.ts";
import { withTimeout } from "./wait.ts";

const STOP_GRACE_MS = 5_000;
const KILL_WAIT_MS = 5_000;

export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #output: RingBuffer;
  readonly exited: Promise<void>;
  #hasExited = false;

  constructor(binary: string, args: readonly string[], output: RingBuffer, env?: Record<string, string>) {
    this.#output = output;
    output.push(`--- spawn: ${binary} ${args.join(" ")}\n`);
    // Its own process group: a Ctrl-C meant for the parent must not stop the server before the parent's
    // clients have drained (the exit hook below still kills it if the parent forgets).
    const child = spawn(binary, args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    this.#child = child;
    this.exited = new Promise<void>((resolve) => {
      const done = () => {
        this.#hasExited = true;
        live.delete(child);
        resolve();
      };
      child.once("exit", (code, signal) => {
        output.push(`--- exited (code ${code}, signal ${signal})\n`);
        done();
      });
      child.once("error", (err) => {
        output.push(`--- spawn error: ${err.message}\n`);
        done();
      });
    });
    const collect = (chunk: Buffer) => output.push(chunk);
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    live.add(child);
    registerExitHook();
    // Our handles must not keep the test process alive; the exit hook kills what is left.
    child.unref();
    (child.stdout as Socket | null)?.unref();
    (child.stderr as Socket | null)?.unref();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get hasExited(): boolean {
    return this.#hasExited;
  }

  describeExit(): string {
    return `code ${this.#child.exitCode}, signal ${this.#child.signalCode}`;
  }

  /** SIGTERM waits up to 5 s for a clean exit (JetStream flushes its stores), then escalates to SIGKILL. */
  async terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    if (this.#hasExited) return;
    this.#child.kill(signal);
    if (signal === "SIGTERM") {
      try {
        return await withTimeout(this.exited, STOP_GRACE_MS, "exit after SIGTERM");
      } catch {
        this.#output.push(`--- still running ${STOP_GRACE_MS}ms after SIGTERM, sending SIGKILL\n`);
        this.#child.kill("SIGKILL");
      }
    }
    await withTimeout(this.exited, KILL_WAIT_MS, `pid ${this.pid} to exit after SIGKILL`);
  }
}

const live = new Set<ChildProcess>();
const dirsToRemove = new Set<string>();
let hookRegistered = false;

/** Removed when the test process exits, unless {@link forgetTempDir} was called (it was cleaned up or kept). */
export function trackTempDir(dir: string): void {
  dirsToRemove.add(dir);
  registerExitHook();
}

export function forgetTempDir(dir: string): void {
  dirsToRemove.delete(dir);
}

function registerExitHook(): void {
  if (hookRegistered) return;
  hookRegistered = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
    for (const dir of dirsToRemove) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: the process is ending anyway
      }
    }
  });
}

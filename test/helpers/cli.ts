/**
 * @module
 * Runs the `jetbus` command (`node bin/jetbus.mjs …`) as a real process against a test's server, collecting
 * its output; `startCli` gives access to the output while it runs (for `batch <id> --watch`).
 */
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../shared/testkit/index.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface CliRun {
  stdout: string[];
  stderr: string[];
  /** exit code (1 for a signal) */
  exited: Promise<number>;
  /** resolves once stdout has a line matching */
  waitForOutput(match: RegExp, timeoutMs?: number): Promise<string>;
  kill(): void;
}

export function startCli(args: string[], natsUrl: string, env: NodeJS.ProcessEnv = {}): CliRun {
  const proc = spawn(process.execPath, [resolve(root, "bin/jetbus.mjs"), ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env, NATS_URL: natsUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: [] as string[], stderr: [] as string[] };
  const split = (into: string[]) => (chunk: Buffer) => {
    // A progress bar may redraw with \r on a TTY; here stdout is a pipe, so lines end with \n.
    into.push(
      ...chunk
        .toString("utf8")
        .split(/\r?\n|\r/)
        .filter(Boolean),
    );
  };
  proc.stdout.on("data", split(out.stdout));
  proc.stderr.on("data", split(out.stderr));
  const exited = new Promise<number>((res) => proc.once("close", (code) => res(code ?? 1)));
  return {
    ...out,
    exited,
    async waitForOutput(match, timeoutMs = 15_000) {
      return waitFor(
        `jetbus ${args.join(" ")} to print ${String(match)} (stdout: ${out.stdout.join(" | ")}; stderr: ${out.stderr.join(" | ")})`,
        () => out.stdout.find((l) => match.test(l)),
        { timeoutMs },
      );
    },
    kill() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

/** Runs `jetbus <args>` to its end; `code` is -1 when it had to be killed after `timeoutMs`. */
export async function runCli(
  args: string[],
  natsUrl: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  const run = startCli(args, natsUrl, opts.env);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    run.kill();
  }, opts.timeoutMs ?? 20_000);
  const code = await run.exited.finally(() => clearTimeout(timer));
  return {
    code: killed ? -1 : code,
    stdout: run.stdout.join("\n"),
    stderr: run.stderr.join("\n"),
    ms: Date.now() - t0,
  };
}

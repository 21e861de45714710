/**
 * @module
 * For the clients in other languages (examples/go, examples/c, examples/python): a mesh with a short ack wait
 * and TypeScript workers for the `ts:*` types the foreign clients put in their chains and batches, the foreign
 * programs as processes (output kept, readiness by their "ready" line), builds cached by source hash, and
 * the checks each language's test shares (the conformance kit, the dispatch demo).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { formatReport, runConformance, type ConformanceReport } from "../../cli/conformance/run.ts";
import type { Bus, BusEvent, JobContext } from "../../shared/index.ts";
import { deferred, waitFor } from "../../shared/testkit/wait.ts";
import { startMesh, type Mesh } from "./mesh.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const EXAMPLES = join(ROOT, "examples");

/** Short enough that the redelivery cases take seconds; the heartbeat case runs 2.5 × this. */
export const ACK_WAIT_MS = 2_000;
export const POLYGLOT_ENV = { JETBUS_ACK_WAIT_MS: String(ACK_WAIT_MS), JETBUS_WORKER_HEARTBEAT_MS: "1000" };

/** Runs of the TypeScript handlers, by type, for the checks. */
export type TsRuns = Map<string, JobContext[]>;

export interface PolyglotMesh {
  mesh: Mesh;
  client: Bus;
  tsRuns: TsRuns;
  stop(): Promise<void>;
}

/** A mesh plus a TypeScript worker serving `ts:hello`, `ts:first`, `ts:last` and the callback types. */
export async function startPolyglotMesh(): Promise<PolyglotMesh> {
  const mesh = await startMesh({ env: POLYGLOT_ENV });
  const client = await mesh.bus();
  const worker = await mesh.bus();
  const tsRuns: TsRuns = new Map();
  const record = (ctx: JobContext) => tsRuns.set(ctx.jobType, [...(tsRuns.get(ctx.jobType) ?? []), ctx]);
  for (const t of ["ts:hello", "ts:first", "ts:last", "ts:then", "ts:catch", "ts:finally", "ts:progress"])
    worker.register(t, (ctx) => {
      record(ctx);
      return { ts: t, payload: ctx.bind<unknown>() };
    });
  await worker.startWorkers();
  return { mesh, client, tsRuns, stop: () => mesh.stop() };
}

export interface Foreign {
  proc: ChildProcess;
  lines: string[];
  waitForLine(match: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A foreign program as a process; `waitForLine` resolves on the first matching stdout/stderr line. */
export function startForeign(cmd: string, args: string[], env: Record<string, string>): Foreign {
  const proc = spawn(cmd, args, {
    env: { ...process.env, ...POLYGLOT_ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
      lines.push(line);
      for (const w of [...waiters])
        if (w.match.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<number | null>((res) =>
    proc.once("exit", (code) => {
      live.delete(proc);
      res(code);
    }),
  );
  return {
    proc,
    lines,
    exited,
    waitForLine(match, timeoutMs = 20_000) {
      const found = lines.find((l) => match.test(l));
      if (found) return Promise.resolve(found);
      const d = deferred<string>();
      waiters.push({ match, resolve: (l) => d.resolve(l) });
      void exited.then(
        (code) =>
          d.settled || d.reject(new Error(`${cmd} exited (${code}):\n${lines.slice(-30).join("\n")}`)),
      );
      return d.wait(
        timeoutMs,
        `${cmd} ${args.join(" ")} to print ${String(match)}\n${lines.slice(-30).join("\n")}`,
      );
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs a program to its end; the JSON lines it printed, parsed. Fails the test on a non-zero exit. */
export async function runForeign(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
) {
  const f = startForeign(cmd, args, env);
  const t = setTimeout(() => f.proc.kill("SIGKILL"), timeoutMs);
  const code = await f.exited;
  clearTimeout(t);
  assert.equal(code, 0, `${cmd} ${args.join(" ")} exited ${code}:\n${f.lines.join("\n")}`);
  return f.lines.flatMap((l) => {
    try {
      const v: unknown = JSON.parse(l);
      return v && typeof v === "object" ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/** Why a language's test must skip, or null when its tools are here. */
export function missingTools(checks: [cmd: string, args: string[]][]): string | null {
  for (const [cmd, args] of checks) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0)
      return `${cmd} ${args.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}`;
  }
  return null;
}

/** A build folder named by the hash of the sources, so an unchanged example is compiled once per machine. */
export function buildDir(lang: string, srcDir: string): { dir: string; fresh: boolean } {
  const h = createHash("sha256");
  for (const f of readdirSync(srcDir).sort()) h.update(f).update(readFileSync(join(srcDir, f)));
  const dir = join(tmpdir(), `jetbus-example-${lang}-${h.digest("hex").slice(0, 12)}`);
  const fresh = !existsSync(join(dir, ".built"));
  mkdirSync(dir, { recursive: true });
  return { dir, fresh };
}

/** Runs the conformance kit in-process; fails with the whole report when a rule fails. */
export async function assertConforms(url: string, queue: string, type: string): Promise<ConformanceReport> {
  const nc: NatsConnection = await connect({ servers: url, noAsyncTraces: true });
  try {
    const report = await runConformance({ nc, queue, type, ackWaitMs: ACK_WAIT_MS });
    assert.ok(report.passed, formatReport(report));
    return report;
  } finally {
    await nc.close();
  }
}

/** Every event from now on (start it before the demo runs). */
export async function collectEvents(client: Bus): Promise<{ events: BusEvent[]; stop(): Promise<void> }> {
  const events: BusEvent[] = [];
  const sub = client.observe((e) => {
    events.push(e);
  });
  await sub.ready;
  return { events, stop: () => sub.stop() };
}

/**
 * The dispatch demo every client has: a job for `ts:hello`, a chain ts:first → <foreign> → ts:last with catch
 * and finally, a batch (ts:hello + a <foreign> member that fails once, retry 1) with then/catch/finally/progress.
 * Checks what the client printed, what the TypeScript workers ran, and that every job of the chain and the
 * batch, in either language, reported under the caller's trace id.
 */
export async function assertDispatchDemo(
  pm: PolyglotMesh,
  lines: Record<string, unknown>[],
  foreign: string,
  events: BusEvent[],
): Promise<void> {
  const traceparent = lines.find((l) => l.traceparent)?.traceparent as string;
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const traceId = traceparent.split("-")[1];
  const job = lines.find((l) => l.job)?.job as { record: { status: string; result: unknown } };
  assert.equal(job.record.status, "succeeded");
  assert.equal((job.record.result as { ts: string }).ts, "ts:hello");
  const chain = lines.find((l) => l.chain)?.chain as { kind: string; id: string; status: string };
  assert.deepEqual([chain.kind, chain.status], ["chain", "succeeded"]);
  const batch = lines.find((l) => l.batch)?.batch as { kind: string; id: string; status: string };
  assert.deepEqual([batch.kind, batch.status], ["batch", "succeeded"]);

  const runs = (t: string) => pm.tsRuns.get(t) ?? [];
  assert.equal(runs("ts:first").length, 1);
  assert.equal(runs("ts:last").length, 1, "the chain went on after the foreign node");
  assert.equal(runs("ts:catch").length, 0);
  assert.equal(runs("ts:finally").length, 2, "the chain's and the batch's finally");
  assert.equal(runs("ts:then").length, 1);
  assert.ok(runs("ts:progress").length >= 1);

  const done = (pred: (e: BusEvent) => boolean) =>
    events.filter((e) => e.kind === "job_succeeded" && pred(e));
  const chainJobs = () => done((e) => e.chainId === chain.id);
  const members = () => done((e) => e.batchId === batch.id && !e.callback);
  // Job events come from outcomes, workflow events from transitions: they may arrive in either order.
  await waitFor("the chain's and the batch's events", () =>
    chainJobs().length === 3 &&
    members().length === 2 &&
    events.some((e) => e.kind === "batch_completed" && e.batchId === batch.id) &&
    events.some((e) => e.kind === "chain_completed" && e.chainId === chain.id)
      ? true
      : null,
  );
  assert.deepEqual(
    chainJobs()
      .map((e) => e.jobType)
      .sort(),
    ["ts:first", "ts:last", foreign].sort(),
  );
  const retried = events.filter((e) => e.kind === "job_retried" && e.batchId === batch.id);
  assert.deepEqual(
    retried.map((e) => [e.jobType, e.attempt, e.error?.code]),
    [[foreign, 0, "HANDLER_ERROR"]],
  );
  assert.deepEqual(
    members()
      .map((e) => [e.jobType, e.attempt])
      .sort(),
    [
      ["ts:hello", 0],
      [foreign, 1],
    ].sort(),
  );
  for (const e of [...chainJobs(), ...members(), ...retried])
    assert.equal(e.traceparent?.split("-")[1], traceId, `${e.kind} of ${e.jobType} is in the caller's trace`);
}

export interface ForeignClient {
  /** as in the test names: "the Go client" */
  name: string;
  /** the job type its worker serves in the test */
  type: string;
  /** why it cannot run here, or null */
  skip: string | null;
  /** compiles it if needed (once per source version) and returns the command to run it */
  command(): [cmd: string, prefix: string[]];
}

/**
 * The test every client in another language passes (one file per language, each with its own mesh): its worker
 * passes `jetbus conformance`, and its dispatch demo runs a job, a chain and a batch with callbacks whose other
 * jobs run on TypeScript workers, one node of the chain served by that worker.
 */
export function describeClient(c: ForeignClient): void {
  if (c.skip) console.log(`# skipping ${c.name}: ${c.skip}`);
  describe(c.name, { skip: c.skip ?? false }, () => {
    let pm: PolyglotMesh;
    let worker: Foreign;
    let cmd: string;
    let prefix: string[];

    before(async () => {
      [cmd, prefix] = c.command();
      pm = await startPolyglotMesh();
      worker = startForeign(cmd, [...prefix, "worker", "--type", c.type], { NATS_URL: pm.mesh.url });
      await worker.waitForLine(new RegExp(`ready on default/${c.type}`));
    });

    after(async () => {
      await worker?.stop();
      await pm?.stop();
    });

    it("passes jetbus conformance", async () => {
      await assertConforms(pm.mesh.url, "default", c.type);
    });

    it("dispatches a job, a chain and a batch with callbacks, and serves a node of the chain", async () => {
      const seen = await collectEvents(pm.client);
      const lines = await runForeign(cmd, [...prefix, "dispatch", "--foreign", c.type], {
        NATS_URL: pm.mesh.url,
      });
      await assertDispatchDemo(pm, lines, c.type, seen.events);
      await seen.stop();
    });
  });
}

/**
 * @module
 * Tracing never costs job throughput or correctness because of its collector. Two meshes of service
 * PROCESSES (dispatcher, coordinator, worker; each on its own nats-server): one with tracing off, one exporting
 * to a collector that first answers only after 5 s, and is then shut down (its port refuses connections).
 * In each phase both meshes run 500 jobs 3 times, in turns: every job succeeds, and the traced mesh's best run
 * takes no more than 1.5× (plus 0.5 s) the untraced one's. (Tracing itself costs 20–60 % on no-op jobs, with a
 * healthy collector too; what this guards against is a stall: a late or refused export on the job path.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { job, type Bus } from "../../shared/index.ts";
import { recordsIn } from "../../shared/protocol/results.ts";
import { deferred, startNatsServer, withTimeout, type NatsServer } from "../../shared/testkit/index.ts";
import { otelEnv, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts";
import { testBus } from "../helpers/process-kit.ts";
import type { ServiceProcess } from "../helpers/processes.ts";
import { ProcessPool } from "../helpers/processes.ts";
import type { Env } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

const JOBS = 500;
/** runs of JOBS per mesh and phase, taken in turns */
const ROUNDS = 3;
const SLACK_MS = 500;
const Q = uniq("tput");

interface ProcMesh {
  name: string;
  server: NatsServer;
  bus: Bus;
  /** a plain connection watching the stored results */
  nc: NatsConnection;
  worker: ServiceProcess;
}

const servers: NatsServer[] = [];
const pools: ProcessPool[] = [];
const clients: { bus: Bus; nc: NatsConnection }[] = [];
let collector: OtlpReceiver;
let off: ProcMesh;
let traced: ProcMesh;

async function startProcMesh(name: string, env: Env): Promise<ProcMesh> {
  const server = await startNatsServer();
  servers.push(server);
  const procs = new ProcessPool(() => server.url);
  pools.push(procs);
  const [, , worker] = await Promise.all([
    procs.spawn("dispatcher", env),
    procs.spawn("coordinator", env),
    procs.worker([Q], { JETBUS_CONCURRENCY: "50", ...env }),
  ]);
  const [bus, nc] = await Promise.all([testBus(server.url), connect({ servers: server.url })]);
  clients.push({ bus, nc });
  return { name, server, bus, nc, worker };
}

/** Dispatches `count` echo jobs in one bulk request; resolves with the time until every one is done. */
async function run(m: ProcMesh, count: number): Promise<{ ms: number; succeeded: number; failed: number }> {
  const pending = new Set<string>();
  const early = new Map<string, string>();
  let succeeded = 0;
  let failed = 0;
  const all = deferred<void>();
  const settle = (id: string, status: string) => {
    if (!pending.delete(id)) return;
    if (status === "succeeded") succeeded++;
    else failed++;
    if (pending.size === 0) all.resolve();
  };
  // dispatchMany's jobs go without done notices: their records, as the coordinator stores them, say they ended.
  const sub = m.nc.subscribe("jetbus.results.>", {
    callback: (err, msg) => {
      if (err) return;
      for (const r of recordsIn(msg.data)) {
        if (pending.has(r.dispatch_id)) settle(r.dispatch_id, r.status);
        else early.set(r.dispatch_id, r.status);
      }
    },
  });
  await m.nc.flush();
  const t0 = performance.now();
  const results = await withTimeout(
    m.bus.dispatchMany(Array.from({ length: count }, (_, i) => job("t:echo", { i }).onQueue(Q))),
    30_000,
    `${m.name}: the bulk dispatch of ${count} jobs`,
  );
  for (const r of results) {
    assert.ok(r.ok, `dispatch on ${m.name}: ${r.ok ? "" : r.error.message}`);
    pending.add(r.dispatchId);
  }
  for (const [id, status] of early) settle(id, status);
  await all.wait(60_000, `${m.name}: ${pending.size} of ${count} jobs to finish`);
  const ms = performance.now() - t0;
  sub.unsubscribe();
  return { ms, succeeded, failed };
}

/**
 * ROUNDS runs on each mesh, in turns, every job checked; the traced mesh's best run is compared with the
 * untraced one's (other load on the machine only ever adds time, so the best run is the stable measure; a
 * stall on the job path would slow every run).
 */
async function phase(name: string): Promise<string> {
  const ms = { off: [] as number[], traced: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [key, m] of [
      ["off", off],
      ["traced", traced],
    ] as const) {
      const r = await run(m, JOBS);
      assert.deepEqual([r.succeeded, r.failed], [JOBS, 0], `${name}: ${m.name} round ${round}`);
      ms[key].push(Math.round(r.ms));
    }
  }
  const best = { off: Math.min(...ms.off), traced: Math.min(...ms.traced) };
  const report = `${name}: traced ${ms.traced.join("/")} ms, off ${ms.off.join("/")} ms`;
  assert.ok(best.traced <= best.off * 1.5 + SLACK_MS, `too slow with a ${report}`);
  return report;
}

before(async () => {
  collector = await startOtlpReceiver({ delayMs: 5_000 });
  const noTracing: Env = { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" };
  [off, traced] = await Promise.all([
    startProcMesh("tracing off", noTracing),
    startProcMesh("traced", otelEnv(collector.endpoint)),
  ]);
  assert.ok(!off.worker.lines.some((l) => l.includes('"tracing on"')), "tracing off");
  assert.ok(
    traced.worker.lines.some((l) => l.includes('"tracing on"')),
    "tracing on",
  );
});

after(async () => {
  await Promise.allSettled(clients.map((c) => withTimeout(c.bus.shutdown(), 10_000, "bus shutdown")));
  await Promise.allSettled(clients.map((c) => c.nc.close()));
  await Promise.all(pools.map((p) => p.killAll()));
  await Promise.allSettled([...servers.map((s) => s.stop()), collector?.stop()]);
});

describe("a slow or absent collector", () => {
  it(`leaves the throughput and outcomes of ${JOBS} jobs unchanged`, { timeout: 120_000 }, async (t) => {
    // Warm-up (consumers, JIT of every path, tracing's too): a first phase would otherwise measure that.
    for (const m of [off, traced]) assert.equal((await run(m, JOBS)).succeeded, JOBS, `${m.name} warm-up`);
    t.diagnostic(await phase("collector answering after 5 s"));
    assert.ok(
      collector.requests.some((r) => r.path === "/v1/traces"),
      "the slow collector was sent spans (tracing really was on)",
    );
    await collector.stop();
    const refused = await fetch(`${collector.endpoint}/v1/traces`, { method: "POST" }).then(
      () => false,
      () => true,
    );
    assert.ok(refused, "nothing listens at the collector's address any more");
    t.diagnostic(await phase("collector down"));
  });
});

/**
 * @module
 * One jetbus repetition in fresh processes: the dispatcher, the coordinator and ONE worker (concurrency 50)
 * as service processes, a producer process using the SDK, on the bench's own nats-server (file storage). The
 * jetbus streams and buckets are deleted before and after, so every repetition starts from an empty layout
 * (the services provision it again). 1,000 no-op warm-up jobs go through the same processes first.
 * Every process is stopped (SIGKILL as a last resort) however the repetition ends.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { BenchChild, type ChildMessage } from "../lib/child.ts";
import { applyPlan, planTopology } from "../../shared/nats/plan.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { cpuSplitMs, peakRssMb, startService, type ServiceName, type ServiceProcess } from "./services.ts";
import { log } from "../lib/output.ts";
import { sampleRss } from "../lib/rss.ts";
import { round } from "../lib/stats.ts";
import type { BenchEnv, RssMb } from "../workloads/types.ts";

export const CONCURRENCY = 50;

export type SessionOptions = {
  /** what the progress lines call this repetition */
  label: string;
  warmup: number;
  /** extra environment for the three services (tracing) */
  serviceEnv?: Record<string, string>;
};

export type Reply = ChildMessage & {
  t0: number;
  at: number;
  cpuMs: number;
  sysMs?: number;
  t1?: number;
  /** added by the session: where the time went */
  cost?: CostPerJob;
};

export interface JetbusSession {
  queue: string;
  producer: BenchChild;
  jsm: JetStreamManager;
  /** Runs a producer command; logs CPU ms per process spent meanwhile (where the time goes). */
  run<T extends Reply = Reply>(command: ChildMessage, timeoutMs?: number): Promise<T>;
}

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const handlersModule = file("handlers.ts");

/**
 * BENCH_JETBUS_CPU_PROF=<dir>: the three services write a V8 CPU profile there when they exit
 * (`node --cpu-prof`, not allowed in NODE_OPTIONS), to see where the time goes. Off for measured runs.
 */
function profilingArgs(): string[] {
  const dir = process.env.BENCH_JETBUS_CPU_PROF;
  const heapDir = process.env.BENCH_JETBUS_HEAP_SNAPSHOT;
  return [
    ...(dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []),
    ...(heapDir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${heapDir}`] : []),
  ];
}

/**
 * BENCH_JETBUS_HEAP_SNAPSHOT=<dir>: at the end of the measured part every service writes a heap snapshot
 * there (SIGUSR2), to see what a large RSS holds. Waits until each file is complete.
 */
async function heapSnapshots(services: ServiceProcess[]): Promise<void> {
  const dir = process.env.BENCH_JETBUS_HEAP_SNAPSHOT;
  if (!dir) return;
  for (const s of services) {
    const mine = () =>
      readdirSync(dir).filter((f) => f.includes(`.${s.pid}.`) && f.endsWith(".heapsnapshot"));
    const before = mine().length;
    process.kill(s.pid, "SIGUSR2");
    // The file appears when writing starts: wait until it stops growing.
    let size = -1;
    for (let i = 0; i < 600; i++) {
      await sleep(250);
      const files = mine();
      if (files.length <= before) continue;
      const now = statSync(join(dir, files[files.length - 1]!)).size;
      if (now === size) break;
      size = now;
    }
    log(`jetbus: heap snapshot of ${s.name} (pid ${s.pid}) in ${dir}`);
  }
}

/** Deletes every jetbus stream and KV bucket (nothing else on the bench's server). */
/** Deliveries (redeliveries included) per durable consumer of the jetbus streams. */
async function consumerDeliveries(jsm: JetStreamManager): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const stream of ["JETBUS_JOBS", "JETBUS_DELAYED", "JETBUS_OUTCOMES"]) {
    try {
      for await (const ci of jsm.consumers.list(stream)) {
        if (ci.config.durable_name) out.set(`${stream}/${ci.name}`, ci.delivered.consumer_seq);
      }
    } catch {
      // the stream is not there yet
    }
  }
  return out;
}

/** Last sequence of every jetbus stream: the deltas say how many stored messages a workload cost where. */
async function streamSeqs(jsm: JetStreamManager): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const si of jsm.streams.list()) {
    const name = si.config.name;
    if (name.startsWith("JETBUS_") || name.startsWith("KV_jetbus-")) out.set(name, si.state.last_seq);
  }
  return out;
}

type ConnTraffic = Record<string, { in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number }>;

/** Messages and bytes per client connection (by name), from the server's `/connz`; empty when unreachable. */
async function connTraffic(monitorUrl: string | undefined): Promise<ConnTraffic> {
  if (!monitorUrl) return {};
  try {
    const res = await fetch(`${monitorUrl}/connz?limit=1024`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as {
      connections?: ({ name?: string; cid: number } & ConnTraffic[string])[];
    };
    const out: ConnTraffic = {};
    for (const c of body.connections ?? []) {
      const name = `${c.name ?? "?"}#${c.cid}`;
      out[name] = { in_msgs: c.in_msgs, out_msgs: c.out_msgs, in_bytes: c.in_bytes, out_bytes: c.out_bytes };
    }
    return out;
  } catch {
    return {};
  }
}

type Traffic = { sentMsgs: number; sentBytes: number; receivedMsgs: number; receivedBytes: number };

/** Per connection name, what it sent to / received from the server meanwhile, per job. */
function trafficPerJob(before: ConnTraffic, after: ConnTraffic, jobs: number): Record<string, Traffic> {
  const out: Record<string, Traffic> = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name];
    if (!b || name.startsWith("bench-jetbus-setup")) continue;
    const f = (x: number) => round(x / jobs, 2);
    out[name.replace(/#\d+$/, "")] = {
      sentMsgs: f(a.in_msgs - b.in_msgs),
      sentBytes: f(a.in_bytes - b.in_bytes),
      receivedMsgs: f(a.out_msgs - b.out_msgs),
      receivedBytes: f(a.out_bytes - b.out_bytes),
    };
  }
  return out;
}

const describeTraffic = (t: Record<string, Traffic>) =>
  Object.fromEntries(
    Object.entries(t).map(([k, v]) => [
      k,
      `sent ${v.sentMsgs} msgs/${v.sentBytes} B, received ${v.receivedMsgs} msgs/${v.receivedBytes} B`,
    ]),
  );

/** Where a command's time went, per job: CPU µs per process, stored messages, bytes each process sent. */
export type CostPerJob = {
  cpu_us_per_job: Record<string, number>;
  stored_msgs_per_job: number;
  bytes_sent_per_job: Record<string, number>;
};

async function wipeLayout(jsm: JetStreamManager): Promise<void> {
  const doomed: string[] = [];
  for await (const name of jsm.streams.names()) {
    if (name.startsWith("JETBUS_") || name.startsWith("KV_jetbus-")) doomed.push(name);
  }
  await Promise.all(doomed.map((n) => jsm.streams.delete(n)));
}

export async function withJetbusSession<T>(
  env: BenchEnv,
  opts: SessionOptions,
  body: (s: JetbusSession) => Promise<T>,
): Promise<{ result: T; rssMb: RssMb }> {
  const queue = `bench-${randomBytes(4).toString("hex")}`;
  const nc = await connect({ servers: env.natsUrl, name: "bench-jetbus-setup" });
  const jsm = await jetstreamManager(nc);
  const server = sampleRss(env.natsServerPid);
  const services: ServiceProcess[] = [];
  let producer: BenchChild | undefined;
  try {
    await wipeLayout(jsm);
    // On a fresh cluster (P7) R3 streams take seconds to be placed: lay them out here, the operator's way
    // (`jetbus init --apply`), before the services start and find them.
    if (opts.serviceEnv?.JETBUS_REPLICAS) {
      const topology = { ...DEFAULT_TOPOLOGY, replicas: Number(opts.serviceEnv.JETBUS_REPLICAS) };
      const slow = await jetstreamManager(nc, { timeout: 30_000 });
      await applyPlan(slow, await planTopology(slow, topology));
    }
    // BENCH_JETBUS_DIAG=1: the services stamp hop times, so the producer can say where each hop's time goes.
    const diag: Record<string, string> =
      process.env.BENCH_JETBUS_DIAG === "1" ? { JETBUS_HOP_TIMING: "1" } : {};
    const common = { NATS_URL: env.natsUrl, ...diag, ...opts.serviceEnv };
    const names: ServiceName[] = ["dispatcher", "coordinator", "worker"];
    const started = await Promise.allSettled(
      names.map((name) =>
        startService(
          name,
          name === "worker"
            ? {
                ...common,
                JETBUS_HANDLERS: handlersModule,
                JETBUS_CONCURRENCY: String(CONCURRENCY),
                JETBUS_QUEUES: queue,
              }
            : common,
          profilingArgs(),
        ),
      ),
    );
    for (const s of started) if (s.status === "fulfilled") services.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    log(`jetbus ${opts.label}: ${services.map((s) => `${s.name} pid ${s.pid}`).join(", ")}, queue ${queue}`);
    producer = await BenchChild.start(file("producer.ts"), "jetbus producer", {
      NATS_URL: env.natsUrl,
      QUEUE: queue,
      // The producer's bus compares the layout with its own: on a cluster it must expect the same replicas.
      ...(opts.serviceEnv?.JETBUS_REPLICAS ? { JETBUS_REPLICAS: opts.serviceEnv.JETBUS_REPLICAS } : {}),
    });
    const p = producer;
    const session: JetbusSession = {
      queue,
      producer: p,
      jsm,
      async run<R extends Reply>(command: ChildMessage, timeoutMs = 600_000): Promise<R> {
        const seqsBefore = await streamSeqs(jsm);
        const trafficBefore = await connTraffic(env.natsMonitorUrl);
        const deliveriesBefore = await consumerDeliveries(jsm);
        const pids: [string, number][] = [
          ...services.map((s): [string, number] => [s.name, s.pid]),
          ...(env.clusterPids
            ? env.clusterPids.map((pid, i): [string, number] => [`nats-server-${i + 1}`, pid])
            : [["nats-server", env.natsServerPid] as [string, number]]),
        ];
        const before = pids.map(([, pid]) => cpuSplitMs(pid));
        const reply = await p.request<R>({ ...command, timeoutMs }, timeoutMs + 10_000);
        // CPU ms per process meanwhile, "total (sys kernel)".
        const cpu: Record<string, string | null> = {};
        pids.forEach(([name, pid], i) => {
          const [a, b] = [before[i], cpuSplitMs(pid)];
          cpu[name] = a && b ? `${b.total - a.total} (sys ${b.sys - a.sys})` : null;
        });
        cpu.producer = `${round(reply.cpuMs, 0)} (sys ${round(reply.sysMs ?? 0, 0)})`;
        const traffic = trafficPerJob(
          trafficBefore,
          await connTraffic(env.natsMonitorUrl),
          typeof command.count === "number" ? command.count : 1,
        );
        const deliveries: Record<string, number> = {};
        for (const [name, n] of await consumerDeliveries(jsm)) {
          const d = n - (deliveriesBefore.get(name) ?? 0);
          if (d > 0) deliveries[name.replace(/-[0-9a-f]{10}$/, "")] = d;
        }
        const stored: Record<string, number> = {};
        for (const [name, seq] of await streamSeqs(jsm)) {
          const d = seq - (seqsBefore.get(name) ?? 0);
          if (d > 0) stored[name] = d;
        }
        log(
          `jetbus ${opts.label} ${String(command.type)} ${String(command.count ?? "")}: ` +
            `${round(reply.at - reply.t0, 0)} ms; CPU ms ${JSON.stringify(cpu)}; ` +
            `stored messages ${JSON.stringify(stored)}; deliveries ${JSON.stringify(deliveries)}; ` +
            (reply.diag ? `timing ${JSON.stringify(reply.diag)}; ` : "") +
            `NATS traffic per job ${JSON.stringify(describeTraffic(traffic))}`,
        );
        const jobs = typeof command.count === "number" ? command.count : 1;
        const cpuUs: Record<string, number> = {};
        let total = 0;
        for (const [name, v] of Object.entries(cpu)) {
          const ms = v === null ? NaN : parseFloat(v);
          if (!Number.isFinite(ms)) continue;
          cpuUs[name] = round((ms * 1000) / jobs, 1);
          total += (ms * 1000) / jobs;
        }
        cpuUs.total = round(total, 1);
        const sent: Record<string, number> = {};
        for (const [name, t] of Object.entries(traffic))
          sent[name.replace(/^(jetbus-|bench-jetbus-)/, "")] = t.sentBytes;
        reply.cost = {
          cpu_us_per_job: cpuUs,
          stored_msgs_per_job: round(Object.values(stored).reduce((a, n) => a + n, 0) / jobs, 3),
          bytes_sent_per_job: sent,
        };
        return reply;
      },
    };
    if (opts.warmup > 0) await session.run({ type: "jobs", count: opts.warmup, kind: "warm" });
    const result = await body(session);
    const memory = await Promise.all(
      services.map(async (s) => `${s.name} ${JSON.stringify(await s.memoryMb())}`),
    );
    log(`jetbus ${opts.label}: memory (MB) at the end: ${memory.join(", ")}`);
    await heapSnapshots(services);
    const rss: RssMb = {};
    for (const s of services) rss[s.name] = round(peakRssMb(s.pid) ?? 0, 1);
    rss.producer = await producer.stop();
    producer = undefined;
    for (const s of [...services].reverse()) await s.stop();
    rss["nats-server"] = server.stop();
    return { result, rssMb: rss };
  } finally {
    producer?.kill();
    for (const s of services) s.kill();
    server.stop();
    await wipeLayout(jsm).catch((err: unknown) => log(`could not delete the jetbus layout: ${String(err)}`));
    await nc.close();
  }
}

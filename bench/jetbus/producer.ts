/**
 * @module
 * jetbus producer process: the SDK (`connectBus`) dispatching through the dispatcher service. Completion is
 * "outcome recorded by the coordinator", observed here: `bus.observe` delivers the `job_succeeded` events the
 * coordinator publishes after recording each outcome (`callback_succeeded` for callbacks), or `bus.wait` when
 * the workload is about the dispatching process learning the outcome (P2, P4). Start and end are both stamped
 * in this process. Commands (each answered `{type: "done", t0, at, cpuMs, …}`):
 * `jobs {count, kind}` (P1 warm-up and measure, P6 flaky), `latency {count}` (P2), `batch {count}` (P3, P5),
 * `chain {count}` (P4), `delayed {count, delayMs}` (D1).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { newId } from "../../shared/ids.ts";
import { connect } from "@nats-io/transport-node";
import { connectBus, job, type BusEvent, type Job, type Subscription } from "../../shared/index.ts";
import { epochMs } from "../lib/clock.ts";
import { numberField, requireEnv, serve, type ChildMessage } from "../lib/child-side.ts";
import { percentile } from "../lib/stats.ts";
import { BenchTypes } from "./handlers.ts";

const queue = requireEnv("QUEUE");
const replicas = Number(process.env.JETBUS_REPLICAS ?? 1);
const bus = await connectBus({
  servers: requireEnv("NATS_URL"),
  name: "bench-jetbus-producer",
  topology: { replicas },
});

/** The ids a command dispatched (made the SDK's way: time-ordered), and the resolver once all are seen. */
type Target = { ids: Set<string>; need: number; seen: Set<string>; resolve: (at: number) => void };
const targets = new Set<Target>();
/** callback_succeeded per workflow id, kept until claimed (it may arrive before dispatch() returned). */
const callbacksDone = new Map<string, number>();
const callbackWaiters = new Map<string, (at: number) => void>();

/** Diagnostics for the command running now (chain hops, retry gaps): sees every observed event. */
let recorder: ((e: BusEvent) => void) | null = null;

function onEvent(e: BusEvent): void {
  const at = epochMs();
  recorder?.(e);
  if (e.kind === "job_succeeded" && e.dispatchId) {
    for (const t of targets) {
      if (!t.ids.has(e.dispatchId)) continue;
      t.seen.add(e.dispatchId);
      if (t.seen.size === t.need) {
        targets.delete(t);
        t.resolve(at);
      }
    }
  } else if (e.kind === "callback_succeeded") {
    const id = e.batchId ?? e.chainId;
    if (!id) return;
    const w = callbackWaiters.get(id);
    if (w) {
      callbackWaiters.delete(id);
      w(at);
    } else callbacksDone.set(id, at);
  }
}

/**
 * The event subscription runs only while a command counts events: P2 and P4 learn outcomes with `bus.wait`,
 * and an observer running meanwhile would only add CPU to this process. BENCH_JETBUS_DIAG=1 also observes
 * `job_started` / `job_retried` (P4's per-step and P6's retry timings) and keeps the observer on for P4; off
 * by default, as every observed event costs this process CPU (the SDK's dedupe set among it).
 */
const diagnostics = process.env.BENCH_JETBUS_DIAG === "1";
let sub: Subscription | null = null;
async function startObserving(): Promise<void> {
  if (sub) return;
  sub = bus.observe(onEvent, {
    kinds: diagnostics
      ? ["job_succeeded", "callback_succeeded", "job_started", "job_retried"]
      : ["job_succeeded", "callback_succeeded"],
  });
  await sub.ready;
}
async function stopObserving(): Promise<void> {
  const s = sub;
  sub = null;
  await s?.stop();
}

function expectJobs(ids: Set<string>): Promise<number> {
  return new Promise((resolve) => targets.add({ ids, need: ids.size, seen: new Set(), resolve }));
}

function expectCallback(workflowId: string): Promise<number> {
  const early = callbacksDone.get(workflowId);
  if (early !== undefined) {
    callbacksDone.delete(workflowId);
    return Promise.resolve(early);
  }
  return new Promise((resolve) => callbackWaiters.set(workflowId, resolve));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const med = (xs: number[]) => (xs.length > 0 ? percentile(xs, 50) : null);
const p99 = (xs: number[]) => (xs.length > 0 ? percentile(xs, 99) : null);
// Hop stamps are whole milliseconds of different clocks' ticks: their median is 0 or 1, their mean is the figure.
const mean = (xs: number[]) =>
  xs.length > 0 ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100 : null;

/**
 * Records, per job id, when attempts started and ended (the worker's clock, from the events) — to tell where
 * a sequence of steps spends its time: in handlers, or between one step's end and the next one's start.
 */
function recordTimes(match: (e: BusEvent) => boolean) {
  const started = new Map<string, number[]>();
  const ended = new Map<string, number[]>();
  recorder = (e) => {
    if (!e.jobId || !match(e)) return;
    const into =
      e.kind === "job_started"
        ? started
        : e.kind === "job_succeeded" || e.kind === "job_retried"
          ? ended
          : null;
    if (!into) return;
    const list = into.get(e.jobId) ?? [];
    list[e.attempt ?? 0] = e.at.getTime();
    into.set(e.jobId, list);
  };
  return {
    started,
    ended,
    stop: () => {
      recorder = null;
    },
  };
}

/** A command's answer: its fields plus this process's CPU (and kernel share) since `cpu0`, in ms. */
function answer(cpu0: NodeJS.CpuUsage, fields: Record<string, unknown>): ChildMessage {
  const d = process.cpuUsage(cpu0);
  return { type: "done", ...fields, cpuMs: (d.user + d.system) / 1000, sysMs: d.system / 1000 };
}

/**
 * BENCH_JETBUS_CPU_PROF=<dir>: this process profiles itself around each command (`--cpu-prof` is not
 * allowed in NODE_OPTIONS and the bench starts children with fixed flags), written as
 * `producer-<command>-<pid>.cpuprofile`.
 */
async function profiled<T>(name: string, body: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_JETBUS_CPU_PROF;
  if (!dir) return body();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await body();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(dir, `producer-${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const timeoutOf = (msg: ChildMessage) => (typeof msg.timeoutMs === "number" ? msg.timeoutMs : 300_000);

serve(
  {
    /** `count` plain jobs via dispatchMany (ids pre-assigned so their events can be told apart). */
    jobs: async (msg): Promise<ChildMessage> => {
      const count = numberField(msg, "count");
      await startObserving();
      const flaky = msg.kind === "flaky";
      // Ids made as the SDK makes them when none is given (time-ordered), so the results are kept as a user's
      // would be; made here so this process can tell its jobs' events apart.
      const ids = Array.from({ length: count }, () => newId("dsp"));
      const jobs: Job[] = ids.map((id, i) => {
        const j = job(flaky ? BenchTypes.flaky : BenchTypes.noop, { i })
          .onQueue(queue)
          .withId(id);
        return flaky ? j.retry(2).backoff(10) : j;
      });
      const mine = new Set(ids);
      const done = expectJobs(mine);
      const times = flaky && diagnostics ? recordTimes((e) => mine.has(e.dispatchId ?? "")) : null;
      const cpu0 = process.cpuUsage();
      const t0 = epochMs();
      const results = await bus.dispatchMany(jobs);
      const t1 = epochMs();
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0)
        throw new Error(`${failed.length} dispatches failed, e.g. ${JSON.stringify(failed[0])}`);
      const at = await withTimeout(done, timeoutOf(msg), `${count} ${String(msg.kind)} jobs`).finally(() =>
        times?.stop(),
      );
      if (!times) return answer(cpu0, { t0, t1, at });
      // Retry gaps: an attempt's end (job_retried) → the next attempt's start, against the 10 ms backoff.
      const gaps: number[] = [];
      const firstStarts: number[] = [];
      for (const [id, st] of times.started) {
        const en = times.ended.get(id) ?? [];
        if (st[0] !== undefined) firstStarts.push(st[0] - t0);
        for (let a = 1; a < st.length; a++) {
          if (st[a] !== undefined && en[a - 1] !== undefined) gaps.push(st[a]! - en[a - 1]!);
        }
      }
      return answer(cpu0, {
        t0,
        t1,
        at,
        diag: {
          retry_gap_p50_ms: med(gaps),
          retry_gap_p99_ms: p99(gaps),
          retry_gaps: gaps.length,
          first_start_p50_ms: med(firstStarts),
          first_start_max_ms: firstStarts.length > 0 ? Math.max(...firstStarts) : null,
        },
      });
    },
    /** One at a time: dispatch → wait(dispatchId); latencies in ms. */
    latency: async (msg): Promise<ChildMessage> => {
      const count = numberField(msg, "count");
      await stopObserving();
      // BENCH_JETBUS_DIAG=1: each job's hops, from the services' stamps (JETBUS_HOP_TIMING) on its events.
      const stamps = new Map<
        string,
        Partial<Record<"dispatched" | "enqueued" | "delivered" | "started" | "finished", number>>
      >();
      const hops = diagnostics
        ? bus.observe(
            (e) => {
              if (!e.dispatchId) return;
              const s = stamps.get(e.dispatchId) ?? {};
              if (e.kind === "dispatch_succeeded") s.dispatched = e.at.getTime();
              if (e.kind === "job_started") {
                s.started = e.at.getTime();
                s.enqueued = e.timing?.enqueuedAt;
                s.delivered = e.timing?.deliveredAt;
              }
              if (e.kind === "job_succeeded") s.finished = e.at.getTime();
              stamps.set(e.dispatchId, s);
            },
            { kinds: ["dispatch_succeeded", "job_started", "job_succeeded"] },
          )
        : null;
      await hops?.ready;
      // ... and when the worker had the outcome stored, from the stamp on its done notice.
      const storedAt = new Map<string, number>();
      const noticeConn = diagnostics ? await connect({ servers: requireEnv("NATS_URL") }) : null;
      noticeConn?.subscribe("jetbus.done.>", {
        callback: (_, m) => {
          const n = m.json<{
            kind?: string;
            record?: { dispatch_id?: string; timing?: { stored_at?: number } };
          }>();
          const at = n.record?.timing?.stored_at;
          if (n.kind === "job" && n.record?.dispatch_id && at && !storedAt.has(n.record.dispatch_id))
            storedAt.set(n.record.dispatch_id, at);
        },
      });
      await noticeConn?.flush();
      const sent = new Map<string, { sent: number; replied: number; known: number }>();
      const latencies: number[] = [];
      // Where the time goes: until dispatch() resolved, then until wait() resolved.
      const dispatchMs: number[] = [];
      const cpu0 = process.cpuUsage();
      const t0 = epochMs();
      await profiled("latency", async () => {
        for (let i = 0; i < count; i++) {
          const s = epochMs();
          const { dispatchId } = await bus.dispatch(job(BenchTypes.noop, { i }).onQueue(queue));
          const replied = epochMs();
          dispatchMs.push(replied - s);
          const outcome = await bus.wait(dispatchId, { timeout: 30_000 });
          const known = epochMs();
          latencies.push(known - s);
          if (hops) sent.set(dispatchId, { sent: s, replied, known });
          if (outcome.status !== "succeeded") throw new Error(`job ${dispatchId} failed`);
        }
      });
      const waitMs = latencies.map((l, i) => l - dispatchMs[i]!);
      let diag: Record<string, number | null> | undefined;
      if (hops) {
        await new Promise((r) => setTimeout(r, 500)); // the last jobs' events
        await hops.stop();
        await noticeConn?.close();
        const seg: Record<string, number[]> = {};
        const push = (k: string, v: number | undefined) => {
          if (v !== undefined && Number.isFinite(v)) (seg[k] ??= []).push(v);
        };
        for (const [id, t] of sent) {
          const s = stamps.get(id) ?? {};
          push("1 request → dispatcher", s.dispatched !== undefined ? s.dispatched - t.sent : undefined);
          push(
            "2 dispatcher → job stored → reply",
            s.dispatched !== undefined ? t.replied - s.dispatched : undefined,
          );
          push(
            "3 envelope built → worker got it",
            s.delivered !== undefined && s.enqueued !== undefined ? s.delivered - s.enqueued : undefined,
          );
          push(
            "4 worker got it → handler started",
            s.started !== undefined && s.delivered !== undefined ? s.started - s.delivered : undefined,
          );
          push(
            "5 handler",
            s.finished !== undefined && s.started !== undefined ? s.finished - s.started : undefined,
          );
          const stored = storedAt.get(id);
          push(
            "6 handler done → outcome stored",
            stored !== undefined && s.finished !== undefined ? stored - s.finished : undefined,
          );
          push("7 outcome stored → caller knows", stored !== undefined ? t.known - stored : undefined);
        }
        diag = Object.fromEntries(Object.entries(seg).map(([k, xs]) => [`${k} (mean ms)`, mean(xs)]));
      }
      return answer(cpu0, {
        ...(diag ? { diag } : {}),
        t0,
        at: epochMs(),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        dispatchP50Ms: percentile(dispatchMs, 50),
        dispatchP99Ms: percentile(dispatchMs, 99),
        waitP50Ms: percentile(waitMs, 50),
        waitP99Ms: percentile(waitMs, 99),
      });
    },
    /** A batch of `count` no-op members with `.finally(noop-cb)`, until that callback succeeded. */
    batch: async (msg): Promise<ChildMessage> => {
      const count = numberField(msg, "count");
      await startObserving();
      const members = Array.from({ length: count }, (_, i) => job(BenchTypes.noop, { i }));
      const cpu0 = process.cpuUsage();
      const t0 = epochMs();
      let t1 = 0;
      let batchId = "";
      const at = await profiled("batch", async () => {
        batchId = await bus
          .batch(...members)
          .onQueue(queue)
          .finally(job(BenchTypes.callback))
          .dispatch();
        t1 = epochMs();
        return withTimeout(expectCallback(batchId), timeoutOf(msg), `batch ${batchId}`);
      });
      return answer(cpu0, { t0, t1, at, batchId });
    },
    /**
     * `count` no-op jobs delayed `delayMs`, dispatched in chunks of 100; each job's due time is this process's
     * clock just before its chunk was sent plus the delay (the dispatcher's own clock can only be later), and its
     * lateness is when its attempt started (the worker's clock, from its `job_started` event) minus that.
     */
    delayed: async (msg): Promise<ChildMessage> => {
      const count = numberField(msg, "count");
      const delayMs = numberField(msg, "delayMs");
      await stopObserving();
      const due = new Map<string, number>();
      const lateness: number[] = [];
      let allStarted: (at: number) => void = () => undefined;
      const started = new Promise<number>((resolve) => (allStarted = resolve));
      const starts = bus.observe(
        (e) => {
          const d = e.dispatchId === undefined ? undefined : due.get(e.dispatchId);
          if (d === undefined || e.attempt !== 0) return;
          due.delete(e.dispatchId!);
          lateness.push(e.at.getTime() - d);
          if (lateness.length === count) allStarted(epochMs());
        },
        { kinds: ["job_started"] },
      );
      await starts.ready;
      const cpu0 = process.cpuUsage();
      const t0 = epochMs();
      for (let i = 0; i < count; i += 100) {
        const ids = Array.from({ length: Math.min(100, count - i) }, () => newId("dsp"));
        const sentAt = epochMs();
        for (const id of ids) due.set(id, sentAt + delayMs);
        const results = await bus.dispatchMany(
          ids.map((id) => job(BenchTypes.noop, { id }).onQueue(queue).withId(id).delay(delayMs)),
        );
        if (results.some((r) => !r.ok))
          throw new Error(`a delayed dispatch failed: ${JSON.stringify(results)}`);
      }
      const t1 = epochMs();
      const at = await withTimeout(started, timeoutOf(msg), `${count} delayed jobs`).finally(() =>
        starts.stop(),
      );
      return answer(cpu0, {
        t0,
        t1,
        at,
        p50Ms: percentile(lateness, 50),
        p99Ms: percentile(lateness, 99),
        maxMs: Math.max(...lateness),
        minMs: Math.min(...lateness),
      });
    },
    /** A chain of `count` no-op steps, until `bus.wait(chainId)` resolved. */
    chain: async (msg): Promise<ChildMessage> => {
      const count = numberField(msg, "count");
      if (diagnostics) await startObserving();
      else await stopObserving();
      const steps = Array.from({ length: count }, (_, i) => job(BenchTypes.noop, { i }));
      const times = recordTimes((e) => e.chainId !== undefined);
      // With hop stamps: when each node's envelope was built (by the coordinator) and reached the worker.
      const built = new Map<string, { enqueued?: number; delivered?: number }>();
      const prev = recorder;
      recorder = (e) => {
        prev?.(e);
        if (e.kind === "job_started" && e.jobId && e.timing)
          built.set(e.jobId, { enqueued: e.timing.enqueuedAt, delivered: e.timing.deliveredAt });
      };
      const cpu0 = process.cpuUsage();
      const t0 = epochMs();
      const chainId = await bus
        .chain(...steps)
        .onQueue(queue)
        .dispatch();
      const t1 = epochMs();
      const outcome = await bus.wait(chainId, { timeout: timeoutOf(msg) });
      const at = epochMs();
      times.stop();
      if (outcome.status !== "succeeded") throw new Error(`chain ${chainId} failed`);
      // Per step: handler time (start → end) and hop time (a step's end → the next step's start).
      const handler: number[] = [];
      const hop: number[] = [];
      const toCoordinator: number[] = [];
      const toWorker: number[] = [];
      const toHandler: number[] = [];
      const st = (i: number) => times.started.get(`${chainId}_n${i}`)?.[0];
      const en = (i: number) => times.ended.get(`${chainId}_n${i}`)?.[0];
      for (let i = 0; i < count; i++) {
        const [s0, e0, s1] = [st(i), en(i), st(i + 1)];
        if (s0 !== undefined && e0 !== undefined) handler.push(e0 - s0);
        if (e0 !== undefined && s1 !== undefined) hop.push(s1 - e0);
        const b = built.get(`${chainId}_n${i + 1}`);
        if (e0 !== undefined && b?.enqueued !== undefined) toCoordinator.push(b.enqueued - e0);
        if (b?.enqueued !== undefined && b.delivered !== undefined) toWorker.push(b.delivered - b.enqueued);
        if (b?.delivered !== undefined && s1 !== undefined) toHandler.push(s1 - b.delivered);
      }
      const first = st(0);
      const last = en(count - 1);
      return answer(cpu0, {
        t0,
        t1,
        at,
        chainId,
        diag: {
          dispatch_to_first_start_ms: first === undefined ? null : first - t0,
          handler_p50_ms: med(handler),
          hop_p50_ms: med(hop),
          hop_p99_ms: p99(hop),
          hop_mean_ms: mean(hop),
          "hop 1: step done → next envelope built (outcome stored, coordinator read + write) mean ms":
            mean(toCoordinator),
          "hop 2: envelope built → worker got it (publish, store, deliver) mean ms": mean(toWorker),
          "hop 3: worker got it → handler started mean ms": mean(toHandler),
          hops: hop.length,
          last_end_to_wait_ms: last === undefined ? null : at - last,
        },
      });
    },
  },
  async () => {
    await stopObserving();
    await bus.shutdown();
  },
);

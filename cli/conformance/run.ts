/**
 * @module
 * `jetbus conformance`: sends the script (script.ts) to a (queue, type) that another process serves, watches
 * what happens (observer.ts), reads the end state (consumer, result records, worker registry) and checks every
 * rule (rules.ts). It needs a running dispatcher and coordinator, and a worker under test started with the
 * same `JETBUS_ACK_WAIT_MS` (a short one, e.g. 2000, keeps the redelivery cases to seconds).
 */
import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { BUCKETS, jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import type { ResultRecord, WorkerRecord } from "../../shared/protocol/schemas.ts";
import { REQUEST_SUBJECTS, subjects } from "../../shared/protocol/subjects.ts";
import { encodeMessage } from "../../shared/protocol/validate.ts";
import { JetbusError } from "../../shared/protocol/errors.ts";
import { listWorkers } from "../../shared/nats/worker-directory.ts";
import { Facts, terminal, type CaseView, type EndState, type SentCase } from "./facts.ts";
import { Observer } from "./observer.ts";
import { evaluate } from "./rules.ts";
import { casePayload, MALFORMED_BODY, NOT_BEFORE_MS, script, type Case } from "./script.ts";

export interface ConformanceOptions {
  nc: NatsConnection;
  queue: string;
  type: string;
  /** the ack wait the worker's consumer must have (JETBUS_ACK_WAIT_MS) */
  ackWaitMs: number;
  /** where the worker's client receives replies and pulled messages @defaultValue "_INBOX" */
  inboxPrefix?: string;
  /** give up waiting for the cases after this long @defaultValue 30 s + 4 × ack wait */
  timeoutMs?: number;
  /** progress lines (the report is returned, not printed) */
  log?: (line: string) => void;
}

export interface ConformanceReport {
  queue: string;
  type: string;
  consumer: string;
  ackWaitMs: number;
  results: { rule: string; says: string; problems: string[] }[];
  passed: boolean;
  ms: number;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(ms: number, fn: () => Promise<T | null> | T | null): Promise<T | null> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null || Date.now() >= end) return v;
    await sleep(100);
  }
}

async function registryFor(kv: KV, queue: string, type: string): Promise<WorkerRecord[]> {
  const all = await listWorkers(kv).catch(() => []);
  return all.filter((r) => r.serves?.some((s) => s.queue === queue && s.type === type));
}

function ended(v: CaseView): boolean {
  const acked = (seq: number | undefined) =>
    v.acks.some((a) => a.seq === seq && (a.body === "" || a.body === "+ACK"));
  if (v.sent.c.delivery === "malformed") return v.deadLetters.length > 0 && acked(v.deliveries[0]?.seq);
  const t = terminal(v)[0];
  return !!t && acked(t.delivery?.seq);
}

export async function runConformance(o: ConformanceOptions): Promise<ConformanceReport> {
  const t0 = Date.now();
  const { nc, queue, type } = o;
  const log = o.log ?? (() => undefined);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const consumer = jobConsumerName(queue, type);
  const info = await until(10_000, () => jsm.consumers.info(STREAMS.jobs, consumer).catch(() => null));
  if (!info)
    throw new JetbusError(
      "NOT_FOUND",
      `no consumer ${consumer} on ${STREAMS.jobs}: is the worker for ${type} on ${queue} running?`,
    );
  const ackWaitMs = Math.round((info.config.ack_wait ?? 30_000_000_000) / 1_000_000);
  const kvm = new Kvm(nc);
  const workers = await kvm.open(BUCKETS.workers);
  const results = await kvm.open(BUCKETS.results);
  const first = await registryFor(workers, queue, type);

  const observer = new Observer(nc, queue, type, consumer, o.inboxPrefix ?? "_INBOX");
  await observer.start();
  const run = hex(4);
  const cases = script(ackWaitMs);
  log(
    `conformance run ${run}: ${cases.length} cases to ${type} on ${queue} (consumer ack wait ${ackWaitMs} ms)`,
  );
  const sent = await sendAll(nc, js, queue, type, run, cases);

  const facts = (end: EndState) =>
    new Facts({
      queue,
      type,
      consumer,
      ackWaitMs,
      expectedAckWaitMs: o.ackWaitMs,
      cases: sent,
      seen: observer.seen,
      end,
    });
  await until(o.timeoutMs ?? 30_000 + 4 * ackWaitMs, () =>
    facts(emptyEnd()).all().every(ended) ? true : null,
  );
  await sleep(200); // late acks and PubAcks of the last case
  observer.stop();

  const end: EndState = {
    consumer: await jsm.consumers.info(STREAMS.jobs, consumer).catch(() => null),
    results: Object.fromEntries(
      await Promise.all(
        sent.map(async (s) => {
          const e = await results.get(s.dispatchId).catch(() => null);
          return [s.dispatchId, e?.operation === "PUT" ? (e.json() as ResultRecord) : null] as const;
        }),
      ),
    ),
    // Wait (up to three heartbeats) for the record to advance past what it was at the start.
    registry: {
      first,
      last:
        (await until(3 * Math.max(1_000, ...first.map((r) => r.heartbeat_ms)), async () => {
          const now = await registryFor(workers, queue, type);
          return now.some((r) => first.some((f) => f.id === r.id && r.heartbeat_at > f.heartbeat_at))
            ? now
            : null;
        })) ?? (await registryFor(workers, queue, type)),
    },
    now: Date.now(),
  };
  const checked = evaluate(facts(end));
  return {
    queue,
    type,
    consumer,
    ackWaitMs,
    results: checked,
    passed: checked.every((r) => r.problems.length === 0),
    ms: Date.now() - t0,
  };
}

function emptyEnd(): EndState {
  return { consumer: null, results: {}, registry: { first: [], last: [] }, now: Date.now() };
}

async function sendAll(
  nc: NatsConnection,
  js: ReturnType<typeof jetstream>,
  queue: string,
  type: string,
  run: string,
  cases: Case[],
): Promise<SentCase[]> {
  const request = async (subject: string, body: unknown, traceparent?: string) => {
    const h = headers();
    if (traceparent) h.set("traceparent", traceparent);
    const reply = (await nc.request(subject, encodeMessage(body), { timeout: 10_000, headers: h })).json<{
      ok: boolean;
      error?: { code: string; message: string };
    }>();
    if (!reply.ok)
      throw new JetbusError(reply.error?.code ?? "INTERNAL", `${subject}: ${reply.error?.message}`);
  };
  const store = async (body: string | Uint8Array, msgID: string, traceparent: string) => {
    const h = headers();
    h.set("traceparent", traceparent);
    await js.publish(subjects.job(queue, type), body, { msgID, headers: h });
  };
  const batchId = `bat_conf_${run}`;
  // The cancelled batch first: the worker needs a moment to see the cancellation in jetbus-cancels.
  await request(REQUEST_SUBJECTS.batchCreate, { v: 1, batch_id: batchId, queue });
  await request(REQUEST_SUBJECTS.batchCancel, {
    v: 1,
    batch_id: batchId,
    reason: "conformance: skipped member",
  });
  const cancelledAt = Date.now();
  const out: SentCase[] = [];
  for (const c of cases) {
    const traceId = hex(16);
    const traceparent = `00-${traceId}-${hex(8)}-01`;
    const dispatchId = `dsp_conf_${run}_${c.name.replace(/-/g, "_")}`;
    const sc: SentCase = { c, jobId: dispatchId, dispatchId, traceId };
    const envelope = {
      v: 1,
      job_id: dispatchId,
      dispatch_id: dispatchId,
      type,
      queue,
      payload: casePayload(c),
      options: c.options,
      attempt: 0,
      enqueued_at: Date.now(),
    };
    if (c.delivery === "dispatch") {
      await request(
        REQUEST_SUBJECTS.dispatch,
        { v: 1, job: { dispatch_id: dispatchId, type, queue, payload: casePayload(c), options: c.options } },
        traceparent,
      );
    } else if (c.delivery === "not-before") {
      sc.notBefore = Date.now() + NOT_BEFORE_MS;
      await store(encodeMessage({ ...envelope, not_before: sc.notBefore }), dispatchId, traceparent);
    } else if (c.delivery === "malformed") {
      sc.jobId = sc.dispatchId = `conf_${run}_malformed`;
      await store(MALFORMED_BODY, sc.jobId, traceparent);
    } else {
      await sleep(Math.max(0, 1_000 - (Date.now() - cancelledAt)));
      sc.jobId = `${batchId}_m0`;
      await store(
        encodeMessage({ ...envelope, job_id: sc.jobId, batch: { id: batchId, index: 0 } }),
        sc.jobId,
        traceparent,
      );
    }
    out.push(sc);
  }
  return out;
}

/** The report as text: one line per rule, its problems under it, and a summary. */
export function formatReport(r: ConformanceReport): string {
  const width = Math.max(...r.results.map((x) => x.rule.length));
  const lines = [
    `jetbus conformance: type ${r.type} on queue ${r.queue}, consumer ${r.consumer}, ack wait ${r.ackWaitMs} ms`,
  ];
  for (const x of r.results) {
    lines.push(`${x.problems.length ? "FAIL" : "pass"}  ${x.rule.padEnd(width)}  ${x.says}`);
    for (const p of x.problems) lines.push(`      - ${p}`);
  }
  const ok = r.results.filter((x) => x.problems.length === 0).length;
  lines.push(`${ok} of ${r.results.length} rules passed in ${(r.ms / 1000).toFixed(1)} s`);
  return lines.join("\n") + "\n";
}

/**
 * @module
 * The kit's observations indexed per case: each case's deliveries, acks, outcome entries, republished
 * envelopes and dead letters, each with the position of its PubAck (when it was stored). Pure: built from
 * the observer's log and the state read at the end of a run.
 */
import type { ErrorBody, OutcomeEntry, ResultRecord, WorkerRecord } from "../../shared/protocol/schemas.ts";
import { MALFORMED_BODY, type Case } from "./script.ts";
import type { Ack, Delivery, PubAck, Publish, Seen } from "./observer.ts";

export interface SentCase {
  c: Case;
  jobId: string;
  dispatchId: string;
  traceId: string;
  /** not-before case: when it is due */
  notBefore?: number;
}

export interface EndState {
  consumer: {
    config: Record<string, unknown>;
    num_pending: number;
    num_ack_pending: number;
  } | null;
  results: Record<string, ResultRecord | null>;
  /** records serving the (queue, type) at the start and at the end of the run */
  registry: { first: unknown[]; last: unknown[] };
  now: number;
}

export interface RunFacts {
  queue: string;
  type: string;
  consumer: string;
  ackWaitMs: number;
  expectedAckWaitMs: number;
  cases: SentCase[];
  seen: Seen[];
  end: EndState;
}

export interface OutcomeSeen {
  entry: OutcomeEntry;
  pub: Publish;
  /** the delivery it reports: the job's last delivery before the publish */
  delivery: Delivery | undefined;
}

export interface CaseView {
  sent: SentCase;
  deliveries: Delivery[];
  acks: Ack[];
  outcomes: OutcomeSeen[];
  /** the job's envelope stored again by the worker: retry (`@a`), release (`@r`), not due yet (`@w`) */
  republished: Publish[];
  deadLetters: Publish[];
}

export type { ErrorBody, WorkerRecord };

const asObj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

export class Facts {
  private readonly pubacks = new Map<string, PubAck>();

  constructor(readonly run: RunFacts) {
    for (const s of run.seen) if (s.kind === "puback") this.pubacks.set(s.reply, s);
  }

  /** Position of the PubAck that stored `p`, or undefined if it was never stored (or refused). */
  storedAt(p: Publish): number | undefined {
    const a = p.reply ? this.pubacks.get(p.reply) : undefined;
    return a && !a.error ? a.i : undefined;
  }

  private publishes(): Publish[] {
    return this.run.seen.filter((s): s is Publish => s.kind === "publish");
  }

  view(sent: SentCase): CaseView {
    const seen = this.run.seen;
    const isMalformed = sent.c.delivery === "malformed";
    const deliveries = seen.filter(
      (s): s is Delivery =>
        s.kind === "delivery" && (isMalformed ? s.raw === MALFORMED_BODY : s.env?.job_id === sent.jobId),
    );
    const seqs = new Set(deliveries.map((d) => d.seq));
    const acks = seen.filter((s): s is Ack => s.kind === "ack" && seqs.has(s.seq));
    const outcomes: OutcomeSeen[] = [];
    const republished: Publish[] = [];
    const deadLetters: Publish[] = [];
    for (const p of this.publishes()) {
      const body = asObj(p.body);
      if (p.subject.startsWith("jetbus.outcomes.")) {
        const entries = Array.isArray(body?.outcomes) ? (body.outcomes as unknown[]) : [];
        for (const e of entries) {
          const entry = asObj(e) as OutcomeEntry | null;
          if (entry?.job_id !== sent.jobId) continue;
          const delivery = [...deliveries].reverse().find((d) => d.i < p.i);
          outcomes.push({ entry, pub: p, delivery });
        }
      } else if (p.subject.startsWith("jetbus.dlq.")) {
        const dlqSeq = /^dlq-JETBUS_JOBS-(\d+)$/.exec(p.msgId ?? "")?.[1];
        const env = asObj(body?.envelope);
        if (env?.job_id === sent.jobId || (dlqSeq && seqs.has(Number(dlqSeq)))) deadLetters.push(p);
      } else if (asObj(p.body)?.job_id === sent.jobId && /@[arw]\d+$/.test(p.msgId ?? "")) {
        republished.push(p);
      }
    }
    return { sent, deliveries, acks, outcomes, republished, deadLetters };
  }

  byCase(name: string): CaseView | undefined {
    const sent = this.run.cases.find((s) => s.c.name === name);
    return sent ? this.view(sent) : undefined;
  }

  all(): CaseView[] {
    return this.run.cases.map((s) => this.view(s));
  }
}

export const traceIdOf = (traceparent: unknown): string | undefined =>
  typeof traceparent === "string" ? traceparent.split("-")[1] : undefined;

export const terminal = (v: CaseView) =>
  v.outcomes.filter((o) => ["succeeded", "failed", "skipped"].includes(o.entry.status));

/** Deep equality of JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/**
 * @module
 * What the conformance kit sees, in the order the server sent it, through plain core subscriptions on one
 * connection (core subscribers get a copy of every message on a subject, stored by JetStream or not):
 * - deliveries of jobs to the worker (the pull reply on the worker's inbox; its reply subject is the ack
 *   subject `$JS.ACK.JETBUS_JOBS.<consumer>.<delivered>.<stream seq>.…`);
 * - the worker's acks, `+WPI`, naks on those ack subjects;
 * - what anyone publishes on `jetbus.outcomes.>`, `jetbus.dlq.>` and the (queue, type)'s jobs, delayed and
 *   wait subjects, with its msg id and reply subject;
 * - the server's PubAck to each of those publishes (a reply on the publisher's inbox): the moment it is stored.
 * One connection delivers in order, so `i` orders everything: "acked after its outcome was stored" is
 * "ack.i > the PubAck's i" (a worker acks only after it got the PubAck, which the kit got at the same moment).
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { STREAMS } from "../../shared/protocol/names.ts";

interface Base {
  /** arrival order on the kit's connection */
  i: number;
  /** the kit's clock (epoch ms) */
  at: number;
}
export interface Delivery extends Base {
  kind: "delivery";
  seq: number;
  delivered: number;
  subject: string;
  traceparent?: string;
  raw: string;
  env: Record<string, unknown> | null;
}
export interface Ack extends Base {
  kind: "ack";
  seq: number;
  delivered: number;
  /** `+ACK` (or empty), `+WPI`, `-NAK`, `+TERM`, … */
  body: string;
}
export interface Publish extends Base {
  kind: "publish";
  subject: string;
  reply?: string;
  msgId?: string;
  traceparent?: string;
  headers: Record<string, string>;
  raw: string;
  body: unknown;
}
export interface PubAck extends Base {
  kind: "puback";
  reply: string;
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: unknown;
}
export type Seen = Delivery | Ack | Publish | PubAck;

/** `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (or the v2 form with domain and account). */
export function parseAckSubject(
  subject: string,
): { consumer: string; delivered: number; seq: number } | null {
  const t = subject.split(".");
  if (t[0] !== "$JS" || t[1] !== "ACK") return null;
  const off = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (off < 0) return null;
  return { consumer: t[off + 1]!, delivered: Number(t[off + 2]), seq: Number(t[off + 3]) };
}

const decoder = new TextDecoder();

function json(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return null;
  }
}

function headersOf(m: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of m.headers?.keys() ?? []) out[k.toLowerCase()] = m.headers!.get(k);
  return out;
}

export class Observer {
  readonly seen: Seen[] = [];
  private readonly subs: Subscription[] = [];
  private readonly deliveries = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly queue: string,
    private readonly type: string,
    private readonly consumer: string,
    private readonly inboxPrefix: string,
  ) {}

  async start(): Promise<void> {
    const q = `${this.queue}.${this.type}`;
    for (const subject of [
      `jetbus.outcomes.>`,
      `jetbus.dlq.>`,
      `jetbus.jobs.${q}`,
      `jetbus.delayed.${q}`,
      `jetbus.wait.${q}.>`,
    ])
      this.sub(subject, (m) => this.onPublish(m));
    this.sub(`$JS.ACK.${STREAMS.jobs}.${this.consumer}.>`, (m) => this.onAck(m));
    this.sub(`${this.inboxPrefix}.>`, (m) => this.onInbox(m));
    await this.nc.flush();
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
  }

  private sub(subject: string, fn: (m: Msg) => void): void {
    this.subs.push(
      this.nc.subscribe(subject, {
        callback: (err, m) => {
          if (!err) fn(m);
        },
      }),
    );
  }

  private base(): Base {
    return { i: this.seen.length, at: Date.now() };
  }

  private onPublish(m: Msg): void {
    // A delivery also carries the job's subject; it is recorded once, from its ack subject.
    if (m.reply?.startsWith("$JS.ACK.")) return this.onDelivery(m);
    const raw = decoder.decode(m.data);
    const headers = headersOf(m);
    this.seen.push({
      ...this.base(),
      kind: "publish",
      subject: m.subject,
      ...(m.reply ? { reply: m.reply } : {}),
      ...(headers["nats-msg-id"] ? { msgId: headers["nats-msg-id"] } : {}),
      ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
      headers,
      raw,
      body: json(raw),
    });
  }

  private onDelivery(m: Msg): void {
    const a = parseAckSubject(m.reply!);
    if (!a || a.consumer !== this.consumer || this.deliveries.has(m.reply!)) return;
    this.deliveries.add(m.reply!);
    const raw = decoder.decode(m.data);
    const body = json(raw);
    const tp = m.headers?.get("traceparent");
    this.seen.push({
      ...this.base(),
      kind: "delivery",
      seq: a.seq,
      delivered: a.delivered,
      subject: m.subject,
      ...(tp ? { traceparent: tp } : {}),
      raw,
      env:
        body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null,
    });
  }

  private onAck(m: Msg): void {
    const a = parseAckSubject(m.subject);
    if (!a) return;
    this.seen.push({
      ...this.base(),
      kind: "ack",
      seq: a.seq,
      delivered: a.delivered,
      body: decoder.decode(m.data),
    });
  }

  private onInbox(m: Msg): void {
    if (m.reply?.startsWith("$JS.ACK.")) return this.onDelivery(m);
    // A PubAck may arrive before the kit's copy of the publish it answers (the server can store and answer
    // before it routes the copy), so every PubAck from a jetbus stream is kept, matched by reply subject later.
    const body = json(decoder.decode(m.data)) as {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: unknown;
    } | null;
    if (!body || !(body.stream?.startsWith("JETBUS_") || body.error)) return;
    this.seen.push({
      ...this.base(),
      kind: "puback",
      reply: m.subject,
      ...(body.stream ? { stream: body.stream } : {}),
      ...(typeof body.seq === "number" ? { seq: body.seq } : {}),
      ...(body.duplicate ? { duplicate: true } : {}),
      ...(body.error ? { error: body.error } : {}),
    });
  }
}

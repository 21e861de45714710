/**
 * @module
 * A message pulled from a JetStream consumer, as jetbus uses one: its bytes and headers, where it is in the
 * stream, how often it was delivered, and its acks. nats.js's `JsMsg` has this shape too; `PulledMessage` wraps
 * a core message from our own pull subscription (`pull-source.ts`) and reads the delivery info from its reply
 * subject only when asked.
 */
import type { Msg, MsgHdrs } from "@nats-io/transport-node";

export interface DeliveryInfo {
  stream: string;
  consumer: string;
  /** 1 on the first delivery */
  deliveryCount: number;
  streamSequence: number;
  /** messages the consumer had left after this one */
  pending: number;
}

export interface PulledMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
  /** the stream sequence */
  readonly seq: number;
  readonly info: DeliveryInfo;
  ack(): void;
  /** redeliver after `delayMs` (at once without it) */
  nak(delayMs?: number): void;
  /** still being worked on: resets the ack timer */
  working(): void;
  term(): void;
}

const ACK = new TextEncoder().encode("+ACK");
const WPI = new TextEncoder().encode("+WPI");
const TERM = new TextEncoder().encode("+TERM");

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or the newer form with a domain and an
 * account hash after `ACK` (and a random token at the end).
 */
export function parseDeliveryInfo(reply: string): DeliveryInfo {
  const t = reply.split(".");
  if (t.length === 9) t.splice(2, 0, "_", "");
  if (t.length < 11 || t[0] !== "$JS" || t[1] !== "ACK")
    throw new Error(`not a JetStream delivery: reply subject ${JSON.stringify(reply)}`);
  return {
    stream: t[4]!,
    consumer: t[5]!,
    deliveryCount: parseInt(t[6]!, 10),
    streamSequence: parseInt(t[7]!, 10),
    pending: parseInt(t[10]!, 10),
  };
}

export class PulledMessage implements PulledMsg {
  private parsed: DeliveryInfo | undefined;
  private settled = false;

  constructor(private readonly msg: Msg) {}

  get subject(): string {
    return this.msg.subject;
  }

  get data(): Uint8Array {
    return this.msg.data;
  }

  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }

  get info(): DeliveryInfo {
    return (this.parsed ??= parseDeliveryInfo(this.msg.reply ?? ""));
  }

  get seq(): number {
    return this.info.streamSequence;
  }

  /** Acks are final (all but `working`): a second one is not sent. */
  private respond(payload: Uint8Array | string, final = true): void {
    if (this.settled) return;
    if (final) this.settled = true;
    this.msg.respond(payload);
  }

  ack(): void {
    this.respond(ACK);
  }

  nak(delayMs?: number): void {
    this.respond(delayMs && delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : "-NAK");
  }

  working(): void {
    this.respond(WPI, false);
  }

  term(): void {
    this.respond(TERM);
  }
}

/**
 * @module
 * A JetStream publisher in the style of Go's `PublishAsync`: a core publish with a reply subject under ONE
 * wildcard inbox subscription, a map of pending PubAcks, and one sweep timer for time-outs and retries.
 * `js.publish()` builds a promise, a timer and an `Error` (async trace) per message, ~45 µs of client CPU;
 * this costs ~10 µs (`bench/micro/publisher-cost.ts` measures both).
 *
 * Operation `publish(subject, data, {msgId, expect…})`:
 * - precondition: a stream binds `subject`; at most `maxInFlight` publishes are pending (else it waits).
 * - outcomes: resolves with the PubAck `{stream, seq, duplicate}`; rejects with `JetStreamPublishError`
 *   (`code` = JetStream `err_code`), `NoStreamError` (no responders, after retries), `PublishTimeoutError`
 *   (after retries) or `PublisherClosedError`.
 * - retries: no responders (nothing was stored) is always retried after `retryDelayMs × attempt`; a time-out
 *   only when `msgId` is set, because only the stream's dedupe window makes a re-send safe.
 */
import {
  createInbox,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { PubHeaders, type PubAck } from "@nats-io/jetstream";
import {
  JetStreamPublishError,
  NoStreamError,
  PublisherClosedError,
  PublishTimeoutError,
} from "./publisher-errors.ts";
import { InFlightSlots } from "./publisher-slots.ts";
import { onReconnect } from "./reconnects.ts";

export type { PubAck };
export {
  JetStreamPublishError,
  NoStreamError,
  PublisherClosedError,
  PublishTimeoutError,
  PublishErrorCodes,
} from "./publisher-errors.ts";

export type JetStreamPublisherOptions = {
  /** Time to wait for each PubAck. @defaultValue 5000 */
  timeoutMs?: number;
  /** Publishes awaiting a PubAck before `publish()` waits for a free slot. @defaultValue 1000 */
  maxInFlight?: number;
  /** Re-sends after the first attempt on no responders, or on time-out when `msgId` is set. @defaultValue 3 */
  retries?: number;
  /** Base delay before re-sending after no responders; grows linearly per attempt. @defaultValue 250 */
  retryDelayMs?: number;
  /** Inbox prefix for PubAcks; defaults to the connection's `inboxPrefix` (so permissions keep working). */
  inboxPrefix?: string;
  /** The dead-letter stream's `max_msg_size` (see topology.ts), so dead letters are cut to fit it. */
  deadLetterMaxBytes?: number;
};

export type PublishOpts = {
  /** `Nats-Msg-Id`: the stream stores one message per id within its `duplicate_window`. */
  msgId?: string;
  headers?: MsgHdrs;
  /** Stream sequence of the subject's last message (0 = none yet), else `code` 10071. */
  expectLastSubjectSequence?: number;
  /** Stream's last sequence, else `code` 10071. */
  expectLastSequence?: number;
  /** `headers` were made for this message alone: the publisher adds its own to them instead of copying. */
  headersOwned?: boolean;
};

type Pending = {
  subject: string;
  data: Uint8Array | string;
  headers: MsgHdrs | undefined;
  reply: string;
  canRetryOnTimeout: boolean;
  attempt: number;
  /** When the PubAck is overdue (ms epoch); 0 while waiting to re-send. */
  deadline: number;
  /** When to re-send after no responders (ms epoch); 0 when not waiting. */
  resendAt: number;
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
};

type PubAckReply = Partial<PubAck> & { error?: { code?: number; err_code?: number; description?: string } };

export class JetStreamPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #inbox: string;
  readonly #pending = new Map<string, Pending>();
  readonly #slots: InFlightSlots;
  readonly #sub: Subscription;
  readonly #sweeper: NodeJS.Timeout;
  readonly #stopResend: () => void;
  #nextToken = 0;
  #closed: PublisherClosedError | undefined;
  #idleWaiters: (() => void)[] = [];

  /** The dead-letter stream's message limit, when the service said (undefined: max_payload alone). */
  readonly deadLetterMaxBytes: number | undefined;

  constructor(nc: NatsConnection, opts: JetStreamPublisherOptions = {}) {
    this.#nc = nc;
    this.deadLetterMaxBytes = opts.deadLetterMaxBytes;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#retries = opts.retries ?? 3;
    this.#retryDelayMs = opts.retryDelayMs ?? 250;
    this.#slots = new InFlightSlots(opts.maxInFlight ?? 1000);
    this.#inbox = createInbox(opts.inboxPrefix ?? connectionInboxPrefix(nc));
    // A synchronous callback: no async iterator, no per-message promise on the reply path.
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => this.#onReply(err, msg) });
    const sweepMs = Math.min(250, Math.max(10, Math.floor(this.#timeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs);
    // The sweep must not keep a process alive that has nothing else to do.
    this.#sweeper.unref();
    void nc.closed().then(() => this.close("connection closed"));
    // What was sent while the connection was down was dropped by the client: re-send now (msg id dedupes)
    // rather than after the PubAck time-out.
    this.#stopResend = onReconnect(nc, () => {
      for (const [token, p] of this.#pending)
        if (p.canRetryOnTimeout && p.resendAt === 0 && p.attempt <= this.#retries) this.#send(token, p);
    });
  }

  publish(subject: string, data: Uint8Array | string, opts?: PublishOpts): Promise<PubAck> {
    if (this.#closed) return Promise.reject(this.#closed);
    let hdrs: MsgHdrs | undefined;
    try {
      hdrs = buildHeaders(opts);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const canRetryOnTimeout = Boolean(opts?.msgId);
    const waitForSlot = this.#slots.acquire();
    if (!waitForSlot) return this.#start(subject, data, hdrs, canRetryOnTimeout);
    return waitForSlot.then(() => this.#start(subject, data, hdrs, canRetryOnTimeout));
  }

  /** Resolves once every publish made so far (including those waiting for a slot) has settled. */
  flush(): Promise<void> {
    if (this.#closed || this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops listening for PubAcks and rejects what is pending with `PublisherClosedError`. Idempotent. */
  close(reason = "publisher closed"): void {
    if (this.#closed) return;
    const err = new PublisherClosedError(reason);
    this.#closed = err;
    clearInterval(this.#sweeper);
    this.#stopResend();
    try {
      this.#sub.unsubscribe();
    } catch {
      // The connection is already closed: its subscriptions are gone with it.
    }
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#slots.rejectWaiters(err);
    this.#wakeIdleWaiters();
  }

  /** The server's `max_payload` as the connection last heard it (undefined before the first INFO). */
  get maxPayload(): number | undefined {
    return this.#nc.info?.max_payload;
  }

  /** Publishes awaiting a PubAck (or a re-send). */
  get inFlight(): number {
    return this.#pending.size;
  }

  #start(subject: string, data: Uint8Array | string, hdrs: MsgHdrs | undefined, canRetryOnTimeout: boolean) {
    if (this.#closed) {
      this.#release();
      return Promise.reject(this.#closed);
    }
    return new Promise<PubAck>((resolve, reject) => {
      const token = (this.#nextToken++).toString(36);
      const p: Pending = {
        subject,
        data,
        headers: hdrs,
        reply: `${this.#inbox}.${token}`,
        canRetryOnTimeout,
        attempt: 0,
        deadline: 0,
        resendAt: 0,
        resolve,
        reject,
      };
      this.#pending.set(token, p);
      this.#send(token, p);
    });
  }

  #send(token: string, p: Pending): void {
    p.attempt++;
    p.resendAt = 0;
    p.deadline = Date.now() + this.#timeoutMs;
    try {
      // While disconnected the client drops this (see reconnects.ts): the reconnect hook re-sends entries
      // with a msgId, and the sweep times out the rest.
      this.#nc.publish(p.subject, p.data, { reply: p.reply, headers: p.headers });
    } catch (err) {
      this.#fail(token, p, err instanceof Error ? err : new Error(String(err)));
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    // A subscription error (e.g. a permission violation) closes the subscription; pending entries time out.
    if (err) return;
    const token = msg.subject.substring(this.#inbox.length + 1);
    const p = this.#pending.get(token);
    // A late PubAck of an attempt that was already answered (re-send after a time-out): nothing to do.
    if (!p) return;
    const status = msg.headers?.code ?? 0;
    if (status === 503) return this.#onNoResponders(token, p);
    if (status >= 300) {
      return this.#fail(token, p, new JetStreamPublishError(0, status, msg.headers?.description ?? ""));
    }
    let reply: PubAckReply;
    try {
      reply = msg.json<PubAckReply>();
    } catch {
      return this.#fail(token, p, new JetStreamPublishError(0, 0, `invalid PubAck: ${msg.string()}`));
    }
    if (reply.error) {
      const e = reply.error;
      return this.#fail(
        token,
        p,
        new JetStreamPublishError(e.err_code ?? 0, e.code ?? 0, e.description ?? ""),
      );
    }
    if (typeof reply.stream !== "string" || typeof reply.seq !== "number") {
      return this.#fail(token, p, new JetStreamPublishError(0, 0, `invalid PubAck: ${msg.string()}`));
    }
    this.#pending.delete(token);
    const ack: PubAck = { stream: reply.stream, seq: reply.seq, duplicate: reply.duplicate === true };
    if (reply.domain) ack.domain = reply.domain;
    // Settle before releasing: the caller's continuation is queued ahead of a flush() that this makes idle.
    p.resolve(ack);
    this.#release();
  }

  #onNoResponders(token: string, p: Pending): void {
    if (p.attempt > this.#retries) return this.#fail(token, p, new NoStreamError(p.subject, p.attempt));
    // Nothing was stored, so a re-send is safe even without msgId; wait first, since a stream without a
    // leader takes seconds to elect one (4–9 s after a leader's kill on a loopback cluster).
    p.deadline = 0;
    p.resendAt = Date.now() + this.#retryDelayMs * p.attempt;
  }

  #sweep(): void {
    if (this.#pending.size === 0) return;
    const now = Date.now();
    for (const [token, p] of this.#pending) {
      if (p.resendAt !== 0) {
        if (now >= p.resendAt) this.#send(token, p);
      } else if (now >= p.deadline) {
        if (p.canRetryOnTimeout && p.attempt <= this.#retries) this.#send(token, p);
        else this.#fail(token, p, new PublishTimeoutError(p.subject, p.attempt, this.#timeoutMs));
      }
    }
  }

  #fail(token: string, p: Pending, err: Error): void {
    this.#pending.delete(token);
    p.reject(err);
    this.#release();
  }

  #release(): void {
    this.#slots.release();
    if (this.#idleWaiters.length > 0 && this.#isIdle()) this.#wakeIdleWaiters();
  }

  #isIdle(): boolean {
    return this.#pending.size === 0 && this.#slots.inUse === 0 && this.#slots.waiting === 0;
  }

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

function buildHeaders(opts: PublishOpts | undefined): MsgHdrs | undefined {
  if (!opts) return undefined;
  const { msgId, expectLastSubjectSequence, expectLastSequence } = opts;
  if (!msgId && expectLastSubjectSequence === undefined && expectLastSequence === undefined) {
    return opts.headers;
  }
  // A copy, so the caller's headers object can be reused for other messages (unless it is this message's own).
  const h = opts.headersOwned && opts.headers ? opts.headers : headers();
  if (opts.headers && h !== opts.headers)
    for (const [k, vs] of opts.headers) for (const v of vs) h.append(k, v);
  if (msgId) h.set(PubHeaders.MsgIdHdr, msgId);
  if (expectLastSubjectSequence !== undefined) {
    h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(expectLastSubjectSequence));
  }
  if (expectLastSequence !== undefined) h.set(PubHeaders.ExpectedLastSeqHdr, String(expectLastSequence));
  return h;
}

// `NatsConnection` does not declare `options`, but the implementation carries the connect options.
function connectionInboxPrefix(nc: NatsConnection): string | undefined {
  const options = (nc as { options?: { inboxPrefix?: unknown } }).options;
  return typeof options?.inboxPrefix === "string" ? options.inboxPrefix : undefined;
}

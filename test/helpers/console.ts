/**
 * @module
 * The console in-process against a test mesh, on a free port, and a small HTTP client that keeps the session
 * cookie and sends the CSRF token the way the page does. Operators are made here with real scrypt hashes.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { loadConfig } from "../../services/console/config.ts";
import { startConsole } from "../../services/console/main.ts";
import { hashSecret } from "../../services/console/operators.ts";
import { startHttp } from "../../shared/service/http.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { STREAMS, jobConsumerName } from "../../shared/protocol/names.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { FAST_ENV, type Env } from "./mesh.ts";

export interface ConsoleHandle {
  url: string;
  stop(): Promise<void>;
}

/** `NAME:hash` entries for JETBUS_CONSOLE_USERS. */
export async function operatorEntries(users: Record<string, string>): Promise<string> {
  const entries = await Promise.all(
    Object.entries(users).map(async ([n, s]) => `${n}:${await hashSecret(s)}`),
  );
  return entries.join(",");
}

export async function startTestConsole(natsUrl: string, env: Env = {}): Promise<ConsoleHandle> {
  const config = loadConfig({ ...FAST_ENV, ...env, NATS_URL: natsUrl, JETBUS_HTTP_PORT: "0" });
  const nc = await connect({ servers: natsUrl, inboxPrefix: "_INBOX.operator", noAsyncTraces: true });
  const log = createLogger("console", process.env.TEST_LOG_LEVEL ?? "silent");
  const running = await startConsole({ nc, log, config });
  const http = await startHttp("127.0.0.1", 0, { notReadyReason: () => null }, { listener: running.http! });
  return {
    url: `http://127.0.0.1:${http.port}`,
    async stop() {
      await running.drain();
      await http.close();
      await nc.close();
    },
  };
}

export interface Reply<T = any> {
  status: number;
  body: T;
}

export class ConsoleClient {
  private cookie = "";
  csrf: string | null = null;

  constructor(private readonly base: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, csrf = true): Promise<Reply<T>> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.cookie) headers.cookie = this.cookie;
    if (csrf && this.csrf && method !== "GET") headers["x-csrf-token"] = this.csrf;
    const res = await fetch(this.base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0]!;
    return { status: res.status, body: (await res.json().catch(() => null)) as T };
  }

  get<T = any>(path: string) {
    return this.request<T>("GET", path);
  }

  post<T = any>(path: string, body: unknown = {}, csrf = true) {
    return this.request<T>("POST", path, body, csrf);
  }

  async signIn(user: string, secret: string): Promise<Reply> {
    const r = await this.post("/api/session", { user, secret });
    if (r.status === 200) this.csrf = (r.body as { csrf: string }).csrf;
    return r;
  }
}

/**
 * The job consumer of (queue, type) held by the server's pause: paused, a job stored for it and a worker's
 * pull request open, yet its delivered sequence is still `deliveredBefore`. An unpaused consumer in this
 * state delivers at once, so this stands for a "nothing delivered" window without a sleep.
 */
export async function waitHeldByPause(
  nc: NatsConnection,
  queue: string,
  type: string,
  deliveredBefore: number,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const ci = await waitFor("the paused consumer holding a job with a pull request open", async () => {
    const i = await jsm.consumers.info(STREAMS.jobs, jobConsumerName(queue, type));
    return i.paused && i.num_pending > 0 && i.num_waiting > 0 ? i : undefined;
  });
  assert.equal(ci.delivered.consumer_seq, deliveredBefore, "a paused consumer delivered a job");
  assert.equal(ci.num_ack_pending, 0);
}

/** The job consumer's delivered sequence now, for `waitHeldByPause`. */
export async function deliveredSeq(nc: NatsConnection, queue: string, type: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.consumers.info(STREAMS.jobs, jobConsumerName(queue, type))).delivered.consumer_seq;
}

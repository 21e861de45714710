/**
 * @module
 * Connecting to NATS the way every jetbus process should: reconnect forever, retry the first connect,
 * no async stack traces on the hot path (they halve the
 * client's publish cost), and status changes logged (a permission error on
 * a fire-and-forget publish shows up only there).
 */
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

export interface ConnectOptions {
  servers: string | string[];
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** log sink for connection status changes */
  onStatus?: (type: string, data?: unknown) => void;
  timeoutMs?: number;
}

export function parseServers(servers: string | string[] | undefined): string[] {
  if (!servers) return ["127.0.0.1:4222"];
  const list = Array.isArray(servers) ? servers : servers.split(",");
  return list.map((s) => s.trim()).filter(Boolean);
}

export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: parseServers(opts.servers),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
    pingInterval: 10_000,
    maxPingOut: 3,
    timeout: opts.timeoutMs ?? 5_000,
  };
  if (opts.user) options.user = opts.user;
  if (opts.pass) options.pass = opts.pass;
  if (opts.token) options.token = opts.token;
  const nc = await connect(options);
  if (opts.onStatus) {
    const onStatus = opts.onStatus;
    void (async () => {
      for await (const s of nc.status()) onStatus(s.type, "data" in s ? s.data : undefined);
    })().catch(() => undefined);
  }
  return nc;
}

/**
 * @module
 * Connecting to NATS the way every jetbus process should: reconnect forever, retry the first connect (each
 * failed try reported, so a process that cannot get in says why instead of hanging), no async stack traces on
 * the hot path (they halve the client's publish cost), and status changes reported. A permission error on a
 * fire-and-forget publish, ack or pull shows up only as a status event: each is counted in
 * `jetbus_nats_permission_errors_total`.
 *
 * Credentials: user/password, a token, an nkey seed file, or a `.creds` file (operator/JWT mode), each
 * optionally over TLS with a private CA and a client certificate. Refused credentials and failed TLS
 * handshakes end the first connect at once (UNAUTHORIZED, TLS): retrying cannot fix them.
 */
import {
  AuthorizationError,
  connect,
  delay,
  UserAuthenticationExpiredError,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import { JetbusError } from "../protocol/errors.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { metrics } from "../telemetry/metrics.ts";
import { authOptions, describeAuth, type NatsAuth } from "./credentials.ts";
import { permissionViolation } from "./permission-errors.ts";

export { authOf } from "./credentials.ts";
export type { NatsAuth, TlsFiles } from "./credentials.ts";

export interface ConnectOptions extends NatsAuth {
  servers: string | string[];
  name: string;
  /** log sink for connection status changes (`data` is the error for type "error") */
  onStatus?: (type: string, data?: unknown) => void;
  /** told of each failed first-connect try that will be retried, with a hint at the likely cause */
  onRetry?: (err: Error, attempt: number, hint: string | null) => void;
  timeoutMs?: number;
}

export function parseServers(servers: string | string[] | undefined): string[] {
  if (!servers) return ["127.0.0.1:4222"];
  const list = Array.isArray(servers) ? servers : servers.split(",");
  return list.map((s) => s.trim()).filter(Boolean);
}

const TLS_CODE = /^(UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_TLS_|ERR_SSL_|ERR_OSSL_)/;

/** A first-connect failure that no retry can fix, as a coded error; null when it is worth another try. */
export function fatalConnectError(err: unknown, auth: NatsAuth): JetbusError | null {
  if (err instanceof UserAuthenticationExpiredError)
    return new JetbusError(ErrorCodes.Unauthorized, `NATS refused ${describeAuth(auth)}: ${err.message}`, {
      cause: err,
    });
  if (err instanceof AuthorizationError)
    return new JetbusError(
      ErrorCodes.Unauthorized,
      `NATS refused ${describeAuth(auth)} (${err.message}): check the credentials this process was given`,
      { cause: err },
    );
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && TLS_CODE.test(code))
    return new JetbusError(
      ErrorCodes.Tls,
      `TLS handshake with NATS failed (${code}: ${(err as Error).message})${auth.tls?.caFile ? "" : ": a server with a private CA needs NATS_TLS_CA (tls.caFile)"}`,
      { cause: err },
    );
  return null;
}

/** Why a retried first connect may be failing, for the log line. */
export function connectHint(err: Error, auth: NatsAuth): string | null {
  if (/timeout/i.test(err.message) && auth.tls && !auth.tls.certFile)
    return "a TLS server that requires a client certificate shows up as a connect time-out: set NATS_TLS_CERT and NATS_TLS_KEY (tls.certFile, tls.keyFile)";
  if (/refused|ECONNREFUSED/i.test(err.message)) return "is nats-server running at that address?";
  return null;
}

export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: parseServers(opts.servers),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    noAsyncTraces: true,
    pingInterval: 10_000,
    maxPingOut: 3,
    timeout: opts.timeoutMs ?? 5_000,
    ...authOptions(opts),
  };
  let nc: NatsConnection;
  // Our own loop rather than `waitOnFirstConnect`: that retries a refused TLS handshake forever in silence.
  for (let attempt = 1; ; attempt++) {
    try {
      nc = await connect(options);
      break;
    } catch (err) {
      const fatal = fatalConnectError(err, opts);
      if (fatal) throw fatal;
      opts.onRetry?.(err as Error, attempt, connectHint(err as Error, opts));
      await delay(Math.min(5_000, 250 * attempt));
    }
  }
  const onStatus = opts.onStatus;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error") {
        const v = permissionViolation(s.error);
        if (v) metrics.natsPermissionErrors.inc({ operation: v.operation });
        onStatus?.(s.type, s.error);
      } else onStatus?.(s.type, "data" in s ? s.data : undefined);
    }
  })().catch(() => undefined);
  return nc;
}

/**
 * @module
 * The shell every service runs in: load config, connect, start, serve health and metrics, and on SIGTERM or
 * SIGINT stop taking work, finish or release what is in flight, and exit. A second signal exits at once.
 */
import type { RequestListener } from "node:http";
import type { NatsConnection } from "@nats-io/transport-node";
import { collectDefaultMetrics } from "prom-client";
import { connectNats } from "../nats/connection.ts";
import {
  requireSupportedServer,
  watchServerVersion,
  type ServerVersionWatch,
} from "../nats/server-version.ts";
import type { CommonConfig } from "./common-config.ts";
import { startHttp, type HttpRoutes } from "./http.ts";
import { startBackoffMs, startWillPass } from "./start-retry.ts";
import { startTelemetry } from "../telemetry/sdk.ts";
import { createLogger, type Logger } from "../telemetry/logger.ts";

export interface RunningService {
  /** stop taking new work, then finish or release in-flight work */
  drain(): Promise<void>;
  notReadyReason?(): string | null;
  /** the service's own web surface, served on the health port beside `/healthz`, `/readyz`, `/metrics` */
  http?: RequestListener;
}

export interface ServiceContext<C> {
  nc: NatsConnection;
  log: Logger;
  config: C;
}

export interface ServiceSpec<C extends { common: CommonConfig }> {
  name: string;
  config: C;
  start(ctx: ServiceContext<C>): Promise<RunningService>;
  /** reply subjects of its connection @defaultValue `_INBOX.<name>` */
  inboxPrefix?: string;
}

export async function runService<C extends { common: CommonConfig }>(spec: ServiceSpec<C>): Promise<void> {
  const { common } = spec.config;
  // Before anything else, so every span of this process goes to the configured exporter (or nowhere).
  const telemetry = await startTelemetry(spec.name);
  const log = createLogger(spec.name, common.logLevel);
  if (telemetry.enabled)
    log.info({ exporter: process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf" }, "tracing on");
  collectDefaultMetrics({ prefix: "jetbus_" });
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));

  let connected = false;
  let running: RunningService | null = null;
  let server: ServerVersionWatch | null = null;
  const notReadyReason = (): string | null => {
    if (!connected) return "not connected to NATS";
    if (server?.problem) return server.problem.message;
    if (!running) return "starting";
    return running.notReadyReason?.() ?? null;
  };
  const routes: HttpRoutes = { listener: null };
  const http = await startHttp(common.httpHost, common.httpPort, { notReadyReason }, routes);
  log.info({ http_port: http.port, nats: common.natsServers }, `${spec.name} starting`);

  let nc: NatsConnection;
  try {
    nc = await connectNats({
      servers: common.natsServers,
      name: `jetbus-${spec.name}`,
      // Each service its own reply subjects, so the server can keep roles from reading each other's replies.
      inboxPrefix: spec.inboxPrefix ?? `_INBOX.${spec.name}`,
      ...common.natsAuth,
      onRetry: (err, attempt, hint) =>
        log.warn(
          { err: err.message, attempt, ...(hint ? { hint } : {}) },
          "cannot connect to NATS yet; retrying",
        ),
      onStatus: (type, data) => {
        if (type === "disconnect") connected = false;
        if (type === "reconnect") connected = true;
        if (type === "error") log.error({ err: String(data) }, "nats error");
        else if (type !== "ping" && type !== "update") log.info({ status: type }, `nats ${type}`);
      },
    });
  } catch (err) {
    // Refused credentials, a failed TLS handshake, an unreadable key file: no retry fixes these.
    log.error({ code: (err as { code?: string }).code }, (err as Error).message);
    await http.close();
    await telemetry.shutdown().catch(() => undefined);
    process.exit(1);
  }
  try {
    const version = requireSupportedServer(nc);
    log.info({ server_version: version }, "connected to nats-server");
  } catch (err) {
    // Refused before provisioning or taking work: one clear line, then out, rather than half-working.
    const code = (err as { code?: string }).code;
    log.error({ code, server_version: nc.info?.version }, (err as Error).message);
    await nc.close();
    await http.close();
    await telemetry.shutdown().catch(() => undefined);
    process.exit(1);
  }
  server = watchServerVersion(nc, (problem, version) => {
    if (problem) log.error({ code: problem.code, server_version: version }, problem.message);
    else log.info({ server_version: version }, "reconnected to a supported nats-server: ready again");
  });
  connected = true;
  running = await startWhenReady(() => spec.start({ nc, log, config: spec.config }), log);
  routes.listener = running.http ?? null;
  log.info(`${spec.name} ready`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, `${spec.name} draining`);
    const timer = setTimeout(() => {
      log.error("drain took too long: exiting");
      process.exit(1);
    }, common.drainTimeoutMs + 10_000);
    timer.unref();
    try {
      await running?.drain();
      await nc.drain();
    } catch (err) {
      log.error({ err }, "error while draining");
    }
    await http.close();
    await telemetry
      .shutdown()
      .catch((err: unknown) => log.warn({ err: String(err) }, "could not flush spans"));
    log.info(`${spec.name} stopped`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** Starts the service, again and again while the failure is the cluster not being ready (a fresh cluster). */
async function startWhenReady(start: () => Promise<RunningService>, log: Logger): Promise<RunningService> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!startWillPass(err)) throw err;
      log.warn(
        { err: String(err), attempt },
        "JetStream is not ready yet (a cluster still forming?); starting again",
      );
      await new Promise((r) => setTimeout(r, startBackoffMs(attempt)));
    }
  }
}

/**
 * @module
 * Test mesh: a nats-server of the test's own, with dispatcher and coordinator running in-process (fast) or
 * as separate processes (for kill and restart tests), and buses connected to it.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { loadConfig as coordinatorConfig } from "../../services/coordinator/config.ts";
import { startCoordinator } from "../../services/coordinator/main.ts";
import { loadConfig as dispatcherConfig } from "../../services/dispatcher/config.ts";
import { startDispatcher } from "../../services/dispatcher/main.ts";
import { connectBus, type BusOptions } from "../../shared/sdk/nats-bus.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import type { RunningService } from "../../shared/service/lifecycle.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/nats-server.ts";

export type Env = Record<string, string>;

/** Settings that make tests quick: short ack waits and reconciler intervals. */
export const FAST_ENV: Env = {
  JETBUS_ACK_WAIT_MS: "3000",
  JETBUS_RECONCILE_INTERVAL_MS: "500",
  JETBUS_OUTBOX_STALE_MS: "1000",
  JETBUS_DRAIN_TIMEOUT_MS: "3000",
  JETBUS_WORKER_HEARTBEAT_MS: "500",
};

export interface InProcessService {
  name: string;
  nc: NatsConnection;
  running: RunningService;
  stop(): Promise<void>;
}

/** `url` may list a cluster's nodes, so the service can fail over between them. */
export async function startInProcess(
  name: "dispatcher" | "coordinator",
  url: string | readonly string[],
  env: Env = {},
): Promise<InProcessService> {
  const servers = typeof url === "string" ? [url] : [...url];
  const full = { ...FAST_ENV, ...env, NATS_URL: servers.join(",") };
  const nc = await connect({
    servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
  const log = createLogger(name, process.env.TEST_LOG_LEVEL ?? "silent");
  const running =
    name === "dispatcher"
      ? await startDispatcher({ nc, log, config: dispatcherConfig(full) })
      : await startCoordinator({ nc, log, config: coordinatorConfig(full) });
  return {
    name,
    nc,
    running,
    async stop() {
      await running.drain();
      await nc.close();
    },
  };
}

export interface Mesh {
  server: NatsServer;
  url: string;
  services: InProcessService[];
  bus(opts?: BusOptions): Promise<Bus>;
  stop(): Promise<void>;
}

export async function startMesh(
  opts: { env?: Env; services?: ("dispatcher" | "coordinator")[]; server?: NatsServer } = {},
): Promise<Mesh> {
  const server = opts.server ?? (await startNatsServer());
  const services: InProcessService[] = [];
  for (const name of opts.services ?? ["dispatcher", "coordinator"]) {
    services.push(await startInProcess(name, server.url, opts.env));
  }
  const buses: Bus[] = [];
  return {
    server,
    url: server.url,
    services,
    async bus(busOpts: BusOptions = {}) {
      const b = await connectBus({
        servers: server.url,
        topology: { ackWaitMs: Number(opts.env?.JETBUS_ACK_WAIT_MS ?? FAST_ENV.JETBUS_ACK_WAIT_MS) },
        drainTimeoutMs: 2_000,
        logger: createLogger("test-bus", process.env.TEST_LOG_LEVEL ?? "silent"),
        ...busOpts,
      });
      buses.push(b);
      return b;
    },
    async stop() {
      await Promise.allSettled(buses.map((b) => b.shutdown()));
      await Promise.allSettled(services.map((s) => s.stop()));
      if (!opts.server) await server.stop();
    },
  };
}

export interface ClientAndWorker {
  mesh: Mesh;
  client: Bus;
  worker: Bus;
}

/** The usual file setup: a mesh, a client bus, and a worker bus already pulling (`stop` the mesh after). */
export async function startClientAndWorker(
  worker: BusOptions = {},
  opts: Parameters<typeof startMesh>[0] = {},
): Promise<ClientAndWorker> {
  const mesh = await startMesh(opts);
  const client = await mesh.bus();
  const w = await mesh.bus(worker);
  await w.startWorkers();
  return { mesh, client, worker: w };
}

/**
 * @module
 * A test file's own nats-server with jetbus's topology provisioned, a connection and a publisher on it,
 * started before its tests and stopped after them.
 */
import { after, before } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { provisionTopology } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { DEFAULT_TOPOLOGY, type TopologyConfig } from "../../shared/nats/topology.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";

export interface ProvisionedServer {
  server: NatsServer;
  nc: NatsConnection;
  jsm: JetStreamManager;
  publisher: JetStreamPublisher;
}

/** Filled in by the file's `before` hook: read it inside tests. */
export function provisionedServer(topology: TopologyConfig = DEFAULT_TOPOLOGY): ProvisionedServer {
  const env = {} as ProvisionedServer;
  before(async () => {
    env.server = await startNatsServer();
    env.nc = await connect({ servers: env.server.url, noAsyncTraces: true });
    env.jsm = await jetstreamManager(env.nc);
    await provisionTopology(env.nc, env.jsm, topology, createLogger("test", "silent"));
    env.publisher = new JetStreamPublisher(env.nc);
  });
  after(async () => {
    env.publisher?.close();
    await env.nc?.close();
    await env.server?.stop();
  });
  return env;
}

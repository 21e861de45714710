/**
 * @module
 * One nats-server for a test file, with a connection and a JetStream manager: started before its tests, stopped
 * after them. For files that test a piece against the server directly, without a mesh.
 */
import { after, before } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";

export interface OwnServer {
  server: NatsServer;
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/** Registers the file's before/after hooks; the fields are set once `before` has run. */
export function ownServer(setUp?: (s: OwnServer) => Promise<void>): OwnServer {
  const s = {} as OwnServer;
  before(async () => {
    s.server = await startNatsServer();
    s.nc = await connect({ servers: s.server.url, noAsyncTraces: true });
    s.jsm = await jetstreamManager(s.nc);
    await setUp?.(s);
  });
  after(async () => {
    await s.nc?.close();
    await s.server?.stop();
  });
  return s;
}

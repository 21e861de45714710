/**
 * @module jetbus/testing — real nats-server processes and named, bounded waits for tests.
 *
 * @example
 * import { startNatsServer, waitFor, type NatsServer } from "jetbus/testing";
 */
export { startCluster } from "./cluster.ts";
export {
  canFetchNatsServer,
  ensureNatsServerBinary,
  FETCH_NATS_SERVER_SCRIPT,
} from "./ensure-nats-server.ts";
export {
  findNatsServerBinary,
  natsServerVersion,
  NatsServerNotFoundError,
  searchNatsServer,
} from "./nats-binary.ts";
export { NatsServer, NatsServerStartError, startNatsServer } from "./nats-server.ts";
export { RingBuffer } from "./ring-buffer.ts";
export { CountLatch, deferred, Latch, waitFor, withTimeout } from "./wait.ts";

export type { NatsCluster, StartClusterOptions } from "./cluster.ts";
export type { EnsureNatsServerOptions } from "./ensure-nats-server.ts";
export type { NatsServerSearch, SkippedNatsServer } from "./nats-binary.ts";
export type { RestartOptions, StartNatsServerOptions } from "./nats-server.ts";
export type { WaitForOptions } from "./wait.ts";

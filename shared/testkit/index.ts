/**
 * @module jetbus/testing — real nats-server processes and named, bounded waits for tests.
 *
 * @example
 * import { startNatsServer, waitFor, type NatsServer } from "jetbus/testing";
 */
export { startCluster } from "./cluster.ts";
export { findNatsServerBinary, NatsServerNotFoundError } from "./nats-binary.ts";
export { NatsServer, NatsServerStartError, startNatsServer } from "./nats-server.ts";
export { RingBuffer } from "./ring-buffer.ts";
export { CountLatch, deferred, Latch, waitFor, withTimeout } from "./wait.ts";

export type { NatsCluster, StartClusterOptions } from "./cluster.ts";
export type { RestartOptions, StartNatsServerOptions } from "./nats-server.ts";
export type { WaitForOptions } from "./wait.ts";

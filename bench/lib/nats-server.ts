/**
 * @module
 * The benchmark's own nats-server (file storage in a fresh temp dir, a port it picks itself), so figures never
 * include traffic on the shared server at 4222. Reuses the test kit's launcher rather than a second copy, so it
 * runs the same binary the tests do (`.jetbus/bin/nats-server` first, then a 2.12+ one on PATH).
 */
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";

export type BenchServer = { url: string; pid: number; monitorUrl: string; stop(): Promise<void> };

export async function startBenchNatsServer(): Promise<BenchServer> {
  const server: NatsServer = await startNatsServer({ name: "bench" });
  return { url: server.url, pid: server.pid, monitorUrl: server.monitorUrl, stop: () => server.stop() };
}

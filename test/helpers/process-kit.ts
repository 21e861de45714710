/**
 * @module
 * Helpers for the process-level tests (test/processes): a bus for the test itself, the reports the fixture
 * handlers publish, and the services' HTTP ports and metrics.
 */
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { REPORT_SUBJECT, type Report } from "../fixtures/reports.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import { FAST_ENV, type Env } from "./mesh.ts";
import type { ServiceProcess } from "./processes.ts";

export type { Report };

/** A bus for dispatching and waiting (no workers), with the same ack wait as the services. */
export function testBus(natsUrl: string, env: Env = {}): Promise<Bus> {
  return connectBus({
    servers: natsUrl,
    name: "test-client",
    topology: { ackWaitMs: Number(env.JETBUS_ACK_WAIT_MS ?? FAST_ENV.JETBUS_ACK_WAIT_MS) },
    logger: createLogger("test-bus", process.env.TEST_LOG_LEVEL ?? "silent"),
  });
}

/** Collects the reports every fixture handler publishes. */
export class Reports {
  private constructor(
    readonly nc: NatsConnection,
    private readonly sub: Subscription,
    readonly all: Report[],
  ) {}

  static async open(natsUrl: string): Promise<Reports> {
    const nc = await connect({
      servers: natsUrl,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      noAsyncTraces: true,
    });
    const all: Report[] = [];
    const sub = nc.subscribe(REPORT_SUBJECT, {
      callback: (err, m) => {
        if (!err) all.push(m.json<Report>());
      },
    });
    await nc.flush();
    return new Reports(nc, sub, all);
  }

  of(pred: (r: Report) => boolean): Report[] {
    return this.all.filter(pred);
  }

  /** Resolves once `count` reports match (and returns them). */
  async waitFor(
    what: string,
    pred: (r: Report) => boolean,
    count = 1,
    timeoutMs = 15_000,
  ): Promise<Report[]> {
    return waitFor(
      what,
      () => {
        const got = this.of(pred);
        return got.length >= count ? got : null;
      },
      { timeoutMs },
    );
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close();
  }
}

/** The HTTP port a service logged in its "<name> starting" line (JETBUS_HTTP_PORT=0 picks a free one). */
export async function httpPort(sp: ServiceProcess): Promise<number> {
  const line = await sp.waitForLine(`"${sp.name} starting"`);
  const port = (JSON.parse(line) as { http_port?: number }).http_port;
  if (typeof port !== "number") throw new Error(`no http_port in ${line}`);
  return port;
}

export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
  return { status: res.status, body: await res.text() };
}

/** Parsed JSON log lines of a process (non-JSON lines skipped). */
export function jsonLines(sp: ServiceProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of sp.lines) {
    try {
      const v: unknown = JSON.parse(l);
      if (v && typeof v === "object") out.push(v as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Sum of a Prometheus sample family in `text`, over the samples whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || !/^[{ ]/.test(line.slice(name.length))) continue;
    const found: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) found[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(line.split(" ").pop());
  }
  return sum;
}

/** A service's /metrics text. */
export async function metricsOf(sp: ServiceProcess): Promise<string> {
  const r = await httpGet(await httpPort(sp), "/metrics");
  if (r.status !== 200) throw new Error(`${sp.name} /metrics answered ${r.status}`);
  return r.body;
}

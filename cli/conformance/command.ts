/**
 * @module
 * The shell of `jetbus conformance`: configuration from the environment (one pure reader), the connection,
 * the run, the printed report and the exit code (0 only when every rule passed).
 */
import { connectNats, type NatsAuth } from "../../shared/nats/connection.ts";
import { readNatsAuth } from "../../shared/service/common-config.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";
import { formatReport, runConformance } from "./run.ts";

/** Where NATS is and how to get in (the services' NATS_* credentials keys). */
export interface ConformanceConfig extends NatsAuth {
  servers: string;
  /** the ack wait the worker under test was started with (JETBUS_ACK_WAIT_MS) */
  ackWaitMs: number;
}

export function loadConfig(env: Env): ConformanceConfig {
  const r = new EnvReader(env);
  const cfg: ConformanceConfig = {
    servers: r.string("NATS_URL", "127.0.0.1:4222"),
    ackWaitMs: r.int("JETBUS_ACK_WAIT_MS", 30_000, { min: 100 }),
    ...readNatsAuth(r),
  };
  r.done();
  return cfg;
}

export async function conformance(opts: {
  queue: string;
  type: string;
  inboxPrefix?: string;
  timeoutMs?: number;
}): Promise<number> {
  const cfg = loadConfig(process.env);
  const nc = await connectNats({ ...cfg, name: "jetbus-conformance" });
  try {
    const report = await runConformance({
      nc,
      ...opts,
      ackWaitMs: cfg.ackWaitMs,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(formatReport(report));
    return report.passed ? 0 : 1;
  } finally {
    await nc.close();
  }
}

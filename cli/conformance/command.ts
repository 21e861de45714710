/**
 * @module
 * The shell of `jetbus conformance`: configuration from the environment (one pure reader), the connection,
 * the run, the printed report and the exit code (0 only when every rule passed).
 */
import { connectNats } from "../../shared/nats/connection.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";
import { formatReport, runConformance } from "./run.ts";

export interface ConformanceConfig {
  servers: string;
  user?: string;
  pass?: string;
  token?: string;
  /** the ack wait the worker under test was started with (JETBUS_ACK_WAIT_MS) */
  ackWaitMs: number;
}

export function loadConfig(env: Env): ConformanceConfig {
  const r = new EnvReader(env);
  const cfg: ConformanceConfig = {
    servers: r.string("NATS_URL", "127.0.0.1:4222"),
    ackWaitMs: r.int("JETBUS_ACK_WAIT_MS", 30_000, { min: 100 }),
  };
  for (const [key, field] of [
    ["NATS_USER", "user"],
    ["NATS_PASS", "pass"],
    ["NATS_TOKEN", "token"],
  ] as const) {
    const v = r.optional(key);
    if (v) cfg[field] = v;
  }
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

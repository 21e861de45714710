/**
 * @module
 * Worker service configuration, read once by a pure function that reports every bad key.
 */
import { readCommon, type CommonConfig } from "../../shared/service/common-config.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";

export interface WorkerConfig {
  common: CommonConfig;
  /** handler modules to load (comma-separated paths, resolved from the working directory) */
  handlers: string[];
  queues: string[];
  concurrency: number;
  heartbeatMs: number;
  maxResultBytes: number;
}

export function loadConfig(env: Env): WorkerConfig {
  const r = new EnvReader(env);
  const cfg: WorkerConfig = {
    common: readCommon(r, 9103),
    handlers: r.list("JETBUS_HANDLERS", []),
    queues: r.list("JETBUS_QUEUES", ["default"]),
    concurrency: r.int("JETBUS_CONCURRENCY", 10, { min: 1, max: 10_000 }),
    heartbeatMs: r.int("JETBUS_WORKER_HEARTBEAT_MS", 5_000, { min: 100 }),
    maxResultBytes: r.int("JETBUS_MAX_RESULT_BYTES", 256 * 1024, { min: 0 }),
  };
  r.check(
    cfg.handlers.length > 0,
    "JETBUS_HANDLERS is required: the handler module(s) to load, e.g. ./examples/handlers.ts",
  );
  r.check(cfg.queues.length > 0, "JETBUS_QUEUES must name at least one queue");
  for (const q of cfg.queues)
    r.check(
      /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(q),
      `JETBUS_QUEUES has an invalid queue name ${JSON.stringify(q)}`,
    );
  r.done();
  return cfg;
}

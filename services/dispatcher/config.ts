/**
 * @module
 * Dispatcher configuration, read once from the environment by a pure function that reports every bad key.
 */
import { readCommon, type CommonConfig } from "../../shared/service/common-config.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";

export interface DispatcherConfig {
  common: CommonConfig;
  /** largest job payload (its JSON) a dispatch may carry */
  maxPayloadBytes: number;
  defaultQueue: string;
  /** false: this replica does not forward delayed jobs (at least one dispatcher must) */
  runScheduler: boolean;
  /** answer NO_HANDLER for a (queue, type) no worker has ever registered (else the coordinator dead-letters
   * such jobs after JETBUS_UNKNOWN_TYPE_DEADLINE_MS) */
  rejectUnknownTypes: boolean;
}

export function loadConfig(env: Env): DispatcherConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, 9101);
  const cfg: DispatcherConfig = {
    common,
    maxPayloadBytes: r.int("JETBUS_MAX_PAYLOAD_BYTES", 256 * 1024, { min: 1 }),
    defaultQueue: r.string("JETBUS_DEFAULT_QUEUE", "default"),
    runScheduler: r.bool("JETBUS_SCHEDULER", true),
    rejectUnknownTypes: r.bool("JETBUS_REJECT_UNKNOWN_TYPES", false),
  };
  r.check(
    cfg.maxPayloadBytes + 16 * 1024 <= common.topology.maxMessageBytes,
    `JETBUS_MAX_PAYLOAD_BYTES (${cfg.maxPayloadBytes}) must leave 16 KiB of room below JETBUS_MAX_MESSAGE_BYTES (${common.topology.maxMessageBytes}) for the envelope`,
  );
  r.check(
    /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(cfg.defaultQueue),
    `JETBUS_DEFAULT_QUEUE=${cfg.defaultQueue} is not a valid queue name`,
  );
  r.done();
  return cfg;
}

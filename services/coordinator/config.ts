/**
 * @module
 * Coordinator configuration, read once by a pure function that reports every bad key.
 */
import { readCommon, type CommonConfig } from "../../shared/service/common-config.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";

export interface CoordinatorConfig {
  common: CommonConfig;
  /** outcome messages handled per group (each may hold hundreds of outcomes) */
  groupSize: number;
  groupConcurrency: number;
  reconcileIntervalMs: number;
  /** outbox entries older than this are performed by the reconciler (a crash between write and publish) */
  outboxStaleMs: number;
  /** an unsealed batch idle this long is cancelled (CREATION_INTERRUPTED) */
  creationTimeoutMs: number;
  /** a workflow waiting this long on a (queue, type) no live worker serves fails (NO_WORKER) */
  noWorkerDeadlineMs: number;
  /** a pending member with no stored message for this long is lost (MEMBER_LOST) */
  lostConfirmMs: number;
  /** jobs of a (queue, type) no worker ever registered are dead-lettered (reason no_handler) after this long */
  unknownTypeDeadlineMs: number;
  /** finished workflows are pruned this long after their last change */
  workflowRetentionMs: number;
  pruneIntervalMs: number;
}

export function loadConfig(env: Env): CoordinatorConfig {
  const r = new EnvReader(env);
  const cfg: CoordinatorConfig = {
    common: readCommon(r, 9102),
    groupSize: r.int("JETBUS_OUTCOME_GROUP", 64, { min: 1, max: 1000 }),
    groupConcurrency: r.int("JETBUS_COORDINATOR_CONCURRENCY", 2, { min: 1, max: 64 }),
    reconcileIntervalMs: r.int("JETBUS_RECONCILE_INTERVAL_MS", 10_000, { min: 100 }),
    outboxStaleMs: r.int("JETBUS_OUTBOX_STALE_MS", 5_000, { min: 100 }),
    creationTimeoutMs: r.int("JETBUS_CREATION_TIMEOUT_MS", 120_000, { min: 100 }),
    noWorkerDeadlineMs: r.int("JETBUS_NO_WORKER_DEADLINE_MS", 300_000, { min: 100 }),
    lostConfirmMs: r.int("JETBUS_LOST_CONFIRM_MS", 60_000, { min: 100 }),
    unknownTypeDeadlineMs: r.int("JETBUS_UNKNOWN_TYPE_DEADLINE_MS", 15 * 60_000, { min: 100 }),
    workflowRetentionMs: r.int("JETBUS_WORKFLOW_RETENTION_MS", 7 * 24 * 3600_000, { min: 1000 }),
    pruneIntervalMs: r.int("JETBUS_PRUNE_INTERVAL_MS", 3600_000, { min: 1000 }),
  };
  r.check(
    cfg.outboxStaleMs < cfg.common.topology.duplicateWindowMs / 2,
    `JETBUS_OUTBOX_STALE_MS (${cfg.outboxStaleMs}) must be well inside JETBUS_DUPLICATE_WINDOW_MS (${cfg.common.topology.duplicateWindowMs}) so recovered effects are deduplicated`,
  );
  r.done();
  return cfg;
}

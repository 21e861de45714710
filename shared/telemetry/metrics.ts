/**
 * @module
 * Prometheus metrics, one registry per process (prom-client's default). Labels are low-cardinality: queue,
 * job type, callback kind, status. Gauges that need a server query (lag, types without a worker) are filled
 * by collectors at scrape time in the services that own them.
 */
import { Counter, Gauge, Histogram } from "prom-client";

const jobLabels = ["queue", "type"] as const;

export const metrics = {
  dispatched: new Counter({
    name: "jetbus_jobs_dispatched_total",
    help: "Jobs accepted by the dispatcher",
    labelNames: jobLabels,
  }),
  rejected: new Counter({
    name: "jetbus_dispatch_rejected_total",
    help: "Dispatches rejected, by error code",
    labelNames: ["code"] as const,
  }),
  succeeded: new Counter({
    name: "jetbus_jobs_succeeded_total",
    help: "Jobs that succeeded",
    labelNames: jobLabels,
  }),
  failed: new Counter({
    name: "jetbus_jobs_failed_total",
    help: "Jobs that failed terminally",
    labelNames: jobLabels,
  }),
  retried: new Counter({
    name: "jetbus_jobs_retried_total",
    help: "Failed attempts scheduled again",
    labelNames: jobLabels,
  }),
  deadLettered: new Counter({
    name: "jetbus_jobs_dead_lettered_total",
    help: "Jobs moved to the dead-letter stream",
    labelNames: jobLabels,
  }),
  released: new Counter({
    name: "jetbus_jobs_released_total",
    help: "Jobs put back without using an attempt (rate limit, overlap, release)",
    labelNames: [...jobLabels, "reason"] as const,
  }),
  skipped: new Counter({
    name: "jetbus_jobs_skipped_total",
    help: "Members of cancelled batches not run",
    labelNames: jobLabels,
  }),
  duration: new Histogram({
    name: "jetbus_job_duration_seconds",
    help: "Handler run time per attempt",
    labelNames: [...jobLabels, "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
  }),
  inFlight: new Gauge({
    name: "jetbus_worker_jobs_in_flight",
    help: "Handlers running in this worker",
    labelNames: jobLabels,
  }),
  stuckHandlers: new Gauge({
    name: "jetbus_worker_abandoned_handlers",
    help: "Handlers still running after their timeout freed the slot",
  }),
  eventLoopBlocked: new Counter({
    name: "jetbus_worker_event_loop_blocked_total",
    help: "Times the event loop was blocked past the threshold (a handler blocking the loop cannot be timed out)",
  }),
  consumerLag: new Gauge({
    name: "jetbus_consumer_lag",
    help: "Jobs waiting or in flight per (queue, type): consumer num_pending + num_ack_pending",
    labelNames: jobLabels,
  }),
  typesWithoutWorker: new Gauge({
    name: "jetbus_types_without_worker",
    help: "(queue, type) pairs with pending jobs and no live worker",
  }),
  pendingWithoutWorker: new Gauge({
    name: "jetbus_pending_without_worker",
    help: "Pending jobs of a (queue, type) no live worker serves",
    labelNames: jobLabels,
  }),
  activeWorkflows: new Gauge({
    name: "jetbus_active_workflows",
    help: "Chains and batches not yet finished",
    labelNames: ["kind"] as const,
  }),
  workflowTransitions: new Counter({
    name: "jetbus_workflow_transitions_total",
    help: "Revision-checked workflow writes",
    labelNames: ["kind", "op"] as const,
  }),
  callbacks: new Counter({
    name: "jetbus_callback_outcomes_total",
    help: "Callback job outcomes",
    labelNames: ["kind", "status"] as const,
  }),
  kvConflicts: new Counter({
    name: "jetbus_kv_conflict_retries_total",
    help: "Revision conflicts retried",
    labelNames: ["bucket"] as const,
  }),
  outcomesProcessed: new Counter({
    name: "jetbus_outcomes_processed_total",
    help: "Outcome entries the coordinator handled",
    labelNames: ["status"] as const,
  }),
  invalidMessages: new Counter({
    name: "jetbus_invalid_messages_total",
    help: "Messages and records a reader skipped or refused (each also logged), by where and why",
    labelNames: ["source", "reason"] as const,
  }),
  natsPermissionErrors: new Counter({
    name: "jetbus_nats_permission_errors_total",
    help: "Publishes, subscriptions and JetStream calls the NATS server refused for this user's permissions",
    labelNames: ["operation"] as const,
  }),
  topologyDrift: new Gauge({
    name: "jetbus_topology_drift",
    help: "1 per field where a live stream, bucket or consumer differs from the configuration (left as it is; `jetbus init --apply` changes it)",
    labelNames: ["resource", "field"] as const,
  }),
  reconciled: new Counter({
    name: "jetbus_reconciler_actions_total",
    help: "Reconciler actions (outbox flushed, workflow failed, creation cancelled, pruned)",
    labelNames: ["action"] as const,
  }),
};

/**
 * The per-(queue, type) metric children a job touches, looked up once per pair: prom-client otherwise hashes
 * the label set on every call, on the hot path of every job.
 */
function jobChildren(queue: string, type: string) {
  const l = { queue, type };
  return {
    dispatched: metrics.dispatched.labels(l),
    succeeded: metrics.succeeded.labels(l),
    failed: metrics.failed.labels(l),
    retried: metrics.retried.labels(l),
    deadLettered: metrics.deadLettered.labels(l),
    skipped: metrics.skipped.labels(l),
    inFlight: metrics.inFlight.labels(l),
    durationSucceeded: metrics.duration.labels({ ...l, status: "succeeded" }),
    durationFailed: metrics.duration.labels({ ...l, status: "failed" }),
  };
}
export type JobMetrics = ReturnType<typeof jobChildren>;

const jobMetricsCache = new Map<string, JobMetrics>();

export function jobMetrics(queue: string, type: string): JobMetrics {
  const key = `${queue}\u0000${type}`;
  let m = jobMetricsCache.get(key);
  if (!m) {
    m = jobChildren(queue, type);
    if (jobMetricsCache.size < 10_000) jobMetricsCache.set(key, m);
  }
  return m;
}

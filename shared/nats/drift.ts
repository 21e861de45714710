/**
 * @module
 * Drift: a live resource that differs from the configuration. It is reported, never repaired here: one warn
 * line per resource naming every differing field, and `jetbus_topology_drift{resource, field}` = 1 for each.
 * A resource checked again (a consumer re-created after a loss) replaces its earlier report.
 */
import type { Logger } from "../telemetry/logger.ts";
import { metrics } from "../telemetry/metrics.ts";
import type { ResourcePlan } from "./config-diff.ts";
import { describeDiff, describeResource, resourceLabel } from "./plan-text.ts";

const reported = new Map<string, string[]>();

export function reportDrift(log: Logger, plan: ResourcePlan): void {
  const resource = resourceLabel(plan.resource);
  for (const field of reported.get(resource) ?? []) metrics.topologyDrift.remove({ resource, field });
  const diffs = [...plan.update, ...plan.blocked];
  reported.set(
    resource,
    diffs.map((d) => d.field),
  );
  if (diffs.length === 0) return;
  for (const d of diffs) metrics.topologyDrift.set({ resource, field: d.field }, 1);
  const fields = diffs.map(describeDiff);
  const how =
    plan.blocked.length > 0
      ? `some fields cannot change in place (${plan.fix})`
      : "`jetbus init` shows the plan, `jetbus init --apply` applies it";
  log.warn(
    { resource, drift: fields },
    `${describeResource(plan.resource)} differs from the configuration and is left as it is: ${fields.join("; ")}; ${how}`,
  );
}

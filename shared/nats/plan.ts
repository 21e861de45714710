/**
 * @module
 * `jetbus init`: the plan that brings the live layout in step with the configuration, and carrying it out.
 * It covers every stream and bucket, the fixed consumers (coordinator, scheduler) and the job consumers that
 * exist (their desired config follows from their name and filter). In-place updates send only the differing
 * fields and nats.js merges them into the live config, so what the server keeps for itself (a consumer's
 * `pause_until`) is sent back unchanged: a paused consumer stays paused.
 */
import type { ConsumerConfig, JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { kvStreamName } from "../protocol/names.ts";
import { inStep, planResource, updateFields, type ResourcePlan } from "./config-diff.ts";
import { consumerInfo, streamInfo } from "./live-state.ts";
import { consumerFamilies, fixedConsumers, streamResources, type TopologyConfig } from "./topology.ts";

export async function planTopology(jsm: JetStreamManager, t: TopologyConfig): Promise<ResourcePlan[]> {
  const plans: ResourcePlan[] = [];
  for (const { resource, spec } of streamResources(t))
    plans.push(planResource(resource, spec, (await streamInfo(jsm, spec.name))?.config ?? null));
  for (const { stream, config } of fixedConsumers(t)) {
    const have = await consumerInfo(jsm, stream, config.durable_name);
    plans.push(
      planResource({ kind: "consumer", name: config.durable_name, stream }, config, have?.config ?? null),
    );
  }
  for (const family of consumerFamilies(t)) {
    if (!(await streamInfo(jsm, family.stream))) continue;
    for await (const ci of jsm.consumers.list(family.stream)) {
      const want = family.desired(ci);
      if (want)
        plans.push(planResource({ kind: "consumer", name: ci.name, stream: family.stream }, want, ci.config));
    }
  }
  return plans.filter((p) => !inStep(p));
}

export interface Applied {
  plan: ResourcePlan;
  /** the server refused it (the rest of the plan still ran) */
  error?: string;
}

/** Carries out a plan in order (streams and buckets before their consumers); what cannot change in place is skipped. */
export async function applyPlan(jsm: JetStreamManager, plans: ResourcePlan[]): Promise<Applied[]> {
  const out: Applied[] = [];
  for (const plan of plans) {
    const r = plan.resource;
    try {
      if (plan.create && r.kind === "consumer")
        await jsm.consumers.add(r.stream!, plan.create as Partial<ConsumerConfig>);
      else if (plan.create) await jsm.streams.add(plan.create as Partial<StreamConfig> & { name: string });
      else if (plan.update.length > 0 && r.kind === "consumer")
        await jsm.consumers.update(r.stream!, r.name, updateFields(plan));
      else if (plan.update.length > 0)
        await jsm.streams.update(r.kind === "bucket" ? kvStreamName(r.name) : r.name, updateFields(plan));
      out.push({ plan });
    } catch (err) {
      out.push({ plan, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/**
 * @module
 * `jetbus init [--apply]`: what it would take to bring the live JetStream layout in step with the
 * configuration (the same `NATS_*` and `JETBUS_*` topology keys the services read), and with `--apply`,
 * doing it. Services only create what is missing and report drift; changing a live stream, bucket or
 * consumer is always this command's job, run by an operator.
 *
 * Exit codes: 0 in step (or, without `--apply`, a plan was printed); 1 when something could not be applied or
 * cannot change in place.
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { ResourcePlan } from "../shared/nats/config-diff.ts";
import { connectNats } from "../shared/nats/connection.ts";
import { applyPlan, planTopology } from "../shared/nats/plan.ts";
import { describeResource, planLines } from "../shared/nats/plan-text.ts";
import { readCommon } from "../shared/service/common-config.ts";
import { EnvReader } from "../shared/service/env.ts";

const say = (lines: string[]) => {
  if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
};

async function withPlan<T>(
  env: NodeJS.ProcessEnv,
  fn: (jsm: JetStreamManager, plans: ResourcePlan[]) => Promise<T>,
): Promise<T> {
  const r = new EnvReader(env);
  const common = readCommon(r, 0);
  r.done();
  const nc = await connectNats({
    servers: common.natsServers,
    name: "jetbus-init",
    // The operator's tool: its replies come on the operator role's inbox unless NATS_INBOX_PREFIX says otherwise.
    inboxPrefix: "_INBOX.operator",
    ...common.natsAuth,
  });
  try {
    const jsm = await jetstreamManager(nc);
    return await fn(jsm, await planTopology(jsm, common.topology));
  } finally {
    await nc.close();
  }
}

/**
 * For `jetbus dev` on its own server: its layout is a sandbox, kept in step with the current version (a dev
 * store made by an older jetbus gets TTL support, for instance). Only changes to what existed are printed.
 */
export function initDevLayout(env: NodeJS.ProcessEnv): Promise<void> {
  return withPlan(env, async (jsm, plans) => {
    const changes = plans.filter((p) => !p.create);
    const applied = await applyPlan(jsm, changes);
    say(
      applied.flatMap((a) =>
        a.error
          ? [`could not change ${describeResource(a.plan.resource)}: ${a.error}`]
          : planLines([a.plan], true),
      ),
    );
  });
}

export function init(apply: boolean, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return withPlan(env, async (jsm, plans) => {
    if (plans.length === 0) {
      say(["nothing to do: the JetStream layout matches the configuration"]);
      return 0;
    }
    const blocked = plans.filter((p) => p.blocked.length > 0).length;
    if (!apply) {
      say(planLines(plans));
      say([
        blocked === plans.length
          ? "nothing `jetbus init --apply` can change: see the fixes above"
          : "run `jetbus init --apply` to carry out this plan",
      ]);
      return blocked > 0 ? 1 : 0;
    }
    const applied = await applyPlan(jsm, plans);
    let failed = 0;
    for (const a of applied) {
      if (a.error) {
        failed++;
        say([`could not change ${describeResource(a.plan.resource)}: ${a.error}`]);
      } else say(planLines([{ ...a.plan, blocked: [] }], true));
      if (a.plan.blocked.length > 0) say(planLines([{ ...a.plan, create: undefined, update: [] }]));
    }
    return failed + blocked > 0 ? 1 : 0;
  });
}

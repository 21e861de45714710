/**
 * @module
 * The read-and-repair commands: queues, batch/chain state (with a live progress bar), prune, dead letters.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats, type NatsAuth } from "../shared/nats/connection.ts";
import { readNatsAuth } from "../shared/service/common-config.ts";
import { EnvReader } from "../shared/service/env.ts";
import { requireSupportedServer } from "../shared/nats/server-version.ts";
import { openBuckets } from "../shared/nats/provision.ts";
import { listWorkers } from "../shared/nats/worker-directory.ts";
import { queueOverview } from "../shared/nats/queue-overview.ts";
import { connectBus } from "../shared/sdk/nats-bus.ts";
import { ValidationError } from "../shared/protocol/errors.ts";
import type { Bus } from "../shared/sdk/types.ts";
import type { BatchInfo, ChainInfo } from "../shared/protocol/workflow-info.ts";
import { KvWorkflowStore } from "../shared/nats/kv-workflow-store.ts";
import { pruneWorkflows } from "../shared/workflow/prune.ts";
import { renderBatch, renderChain, progressBar, table } from "./render.ts";

const servers = () => process.env.NATS_URL ?? "127.0.0.1:4222";
/**
 * The same credentials keys the services read (checked the same way); the tools are the operator's, so their
 * replies come on the operator role's inbox unless NATS_INBOX_PREFIX says otherwise.
 */
function auth(): NatsAuth {
  const r = new EnvReader(process.env);
  const a = readNatsAuth(r);
  r.done();
  return { inboxPrefix: "_INBOX.operator", ...a };
}

export async function withBus<T>(fn: (bus: Bus, nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats({ servers: servers(), name: "jetbus-cli", ...auth() });
  try {
    requireSupportedServer(nc);
    const bus = await connectBus({ connection: nc, provision: false });
    try {
      return await fn(bus, nc);
    } finally {
      await bus.shutdown();
    }
  } finally {
    await nc.close();
  }
}

export async function queues(): Promise<number> {
  const nc = await connectNats({ servers: servers(), name: "jetbus-cli", ...auth() });
  try {
    requireSupportedServer(nc);
    const { workers } = await openBuckets(nc);
    const rows = await queueOverview(await jetstreamManager(nc), (now) => listWorkers(workers, now));
    if (rows.length === 0) {
      process.stdout.write("no queues yet\n");
      return 0;
    }
    process.stdout.write(
      table(
        ["QUEUE", "TYPE", "READY", "DELAYED", "IN FLIGHT", "WORKERS", ""],
        rows.map((r) => [
          r.queue,
          r.type,
          String(r.ready),
          String(r.delayed),
          String(r.inFlight),
          String(r.workers),
          r.workers === 0 && r.ready + r.delayed + r.inFlight > 0 ? "NO WORKER" : "",
        ]),
      ),
    );
    return 0;
  } finally {
    await nc.close();
  }
}

export async function workflow(kind: "batch" | "chain", id: string, watch: boolean): Promise<number> {
  return withBus(async (bus) => {
    if (kind === "chain") {
      process.stdout.write(renderChain(await bus.findChain(id)));
      return 0;
    }
    if (!watch) {
      process.stdout.write(renderBatch(await bus.findBatch(id)));
      return 0;
    }
    let b: BatchInfo = await bus.findBatch(id);
    const tty = process.stdout.isTTY;
    // Progress events for this batch wake the bar at once; a quiet stream still refreshes every second.
    let wake: (() => void) | null = null;
    const sub = bus.observe(
      (e) => {
        if (e.batchId === id) wake?.();
      },
      { kinds: ["batch_progressed", "batch_completed", "batch_cancelled", "batch_failed"] },
    );
    await sub.ready;
    for (;;) {
      b = await bus.findBatch(id);
      const line = progressBar(b);
      process.stdout.write(tty ? `\r${line}` : `${line}\n`);
      if (b.completed) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1_000);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    await sub.stop();
    process.stdout.write(`\n${renderBatch(b)}`);
    return b.cancelled ? 1 : 0;
  });
}

export async function prune(before: Date): Promise<number> {
  const nc = await connectNats({ servers: servers(), name: "jetbus-cli", ...auth() });
  try {
    requireSupportedServer(nc);
    const n = await pruneWorkflows(new KvWorkflowStore((await openBuckets(nc)).workflows), before.getTime());
    process.stdout.write(`pruned ${n} finished workflow(s) last changed before ${before.toISOString()}\n`);
    return 0;
  } finally {
    await nc.close();
  }
}

export async function dlq(
  args: string[],
  opts: { queue?: string; type?: string; limit?: string; filter?: string; yes?: boolean },
): Promise<number> {
  const [sub, seqArg] = args;
  if ((sub === "replay" || sub === "discard") && seqArg === undefined) {
    if (opts.filter === undefined)
      throw new ValidationError(
        `usage: jetbus dlq ${sub} <seq>, or jetbus dlq ${sub} --filter <key=value,…> [--yes]`,
      );
    return (await import("./scripting.ts")).dlqBulk(sub, opts.filter, opts.yes ?? false);
  }
  const filter = (await import("./scripting.ts")).parseFilterFlag(opts.filter);
  return withBus(async (bus) => {
    if (sub === "list" || sub === undefined) {
      const list = await bus.deadLetters.list({
        ...filter,
        ...(opts.queue ? { queue: opts.queue } : {}),
        ...(opts.type ? { type: opts.type } : {}),
        limit: opts.limit ? Number(opts.limit) : 100,
      });
      if (list.length === 0) process.stdout.write("no dead letters\n");
      else
        process.stdout.write(
          table(
            ["SEQ", "QUEUE", "TYPE", "REASON", "ATTEMPTS", "FAILED AT", "ERROR"],
            list.map((d) => [
              String(d.seq),
              d.queue ?? d.sourceSubject,
              d.jobType ?? "-",
              d.reason,
              String(d.attempts),
              d.failedAt.toISOString(),
              `${d.error.code}: ${d.error.message}`.slice(0, 80),
            ]),
          ),
        );
      return 0;
    }
    const seq = Number(seqArg);
    if (!Number.isInteger(seq)) throw new ValidationError(`usage: jetbus dlq ${sub} <seq>`);
    if (sub === "show") {
      process.stdout.write(`${JSON.stringify(await bus.deadLetters.show(seq), null, 2)}\n`);
      return 0;
    }
    if (sub === "remove" || sub === "discard") {
      await bus.deadLetters.remove(seq);
      process.stdout.write(`removed dead letter ${seq}\n`);
      return 0;
    }
    if (sub === "replay") {
      const r = await bus.deadLetters.replay(seq);
      process.stdout.write(`replayed dead letter ${seq} as ${r.dispatchId}\n`);
      return 0;
    }
    throw new ValidationError(
      `unknown dlq command ${JSON.stringify(sub)}: list, show, replay, discard or remove`,
    );
  });
}

export type { ChainInfo };

/**
 * @module
 * The console service: a web page and its JSON API over the mesh's streams, records and events, on one port
 * with `/healthz`, `/readyz` and `/metrics`. It connects as the operator role (replies on `_INBOX.operator`)
 * and changes nothing unless a signed-in operator asks; it provisions nothing. Drains on SIGTERM: the event
 * streams end, the subscription stops.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { getRequestListener } from "@hono/node-server";
import { openBuckets } from "../../shared/nats/provision.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { WorkerDirectory } from "../../shared/nats/worker-directory.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { runService, type RunningService, type ServiceContext } from "../../shared/service/lifecycle.ts";
import { consoleApp } from "./app.ts";
import { loadConfig, type ConsoleConfig } from "./config.ts";
import { startEventHub } from "./event-hub.ts";
import { Sessions } from "./sessions.ts";

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  await runService({ name: "console", config, start: startConsole, inboxPrefix: "_INBOX.operator" });
}

/** Starts the console on an open connection (in-process: used by main and by tests). */
export async function startConsole({
  nc,
  log,
  config,
}: ServiceContext<ConsoleConfig>): Promise<RunningService> {
  const jsm = await jetstreamManager(nc);
  const buckets = await openBuckets(nc);
  const bus = await connectBus({ connection: nc, provision: false, logger: log, name: "jetbus-console" });
  const workers = new WorkerDirectory(buckets.workers, log);
  await workers.start();
  const { hub, ready } = startEventHub(bus, log);
  await ready;
  if (config.operators.length === 0)
    log.warn("no operators configured (JETBUS_CONSOLE_USERS): the console is read-only");
  const app = consoleApp({
    config,
    log,
    bus,
    js: jetstream(nc),
    jsm,
    results: buckets.results,
    store: new KvWorkflowStore(buckets.workflows),
    workers,
    sessions: new Sessions(config.sessionTtlMs),
    hub,
    samples: new Map(),
  });
  const listener = getRequestListener(app.fetch);
  return {
    http: (req, res) => {
      listener(req, res).catch((err: unknown) => log.error({ err: String(err) }, "console response failed"));
    },
    async drain() {
      await hub.stop();
      await workers.stop();
      await bus.shutdown();
    },
  };
}

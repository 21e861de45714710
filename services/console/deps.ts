/**
 * @module
 * What the console's routes use, built once in `main.ts`, and the Hono environment they share.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { ConsumerSample } from "../../shared/core/console-views.ts";
import type { WorkflowStore } from "../../shared/workflow/store.ts";
import type { WorkerDirectory } from "../../shared/nats/worker-directory.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import type { ConsoleConfig } from "./config.ts";
import type { EventHub } from "./event-hub.ts";
import type { Session, Sessions } from "./sessions.ts";

export interface ConsoleDeps {
  config: ConsoleConfig;
  log: Logger;
  bus: Bus;
  js: JetStreamClient;
  jsm: JetStreamManager;
  results: KV;
  store: WorkflowStore;
  workers: WorkerDirectory;
  sessions: Sessions;
  hub: EventHub;
  /** the last consumer-info reading per consumer, for rates */
  samples: Map<string, ConsumerSample>;
}

export type ConsoleEnv = {
  Variables: {
    /** the signed-in operator's session, or null */
    session: Session | null;
  };
};

/**
 * @module A JetStream cluster of real nats-server processes on loopback.
 *
 * nats-server 2.9.10 refuses to start a JetStream cluster node without configured routes ("JetStream cluster
 * requires configured routes"), and sizes the meta group from them, so every node must know all peers' route
 * ports before any of them starts. We therefore reserve the route ports up front (the one place the testkit
 * picks ports itself) and give each node all the others; client and monitoring ports stay server-chosen.
 * Fixed route ports also let a restarted node rejoin where its peers expect it.
 */
import {
  type NatsServer,
  NatsServerStartError,
  startNatsServer,
  type StartNatsServerOptions,
} from "./nats-server.ts";
import { allocateFreePorts, getJson } from "./probes.ts";
import { waitFor } from "./wait.ts";

export interface StartClusterOptions extends Pick<StartNatsServerOptions, "args" | "keepStore" | "binary"> {
  /** Cluster name; nodes are named `<name>-1` … `<name>-n`. @defaultValue "jetbus-test" */
  name?: string;
  /** Extra configuration text appended to every node's generated config. */
  config?: string;
  /** Bound for every node to start, and again for the cluster to form. @defaultValue 15_000 */
  startTimeoutMs?: number;
}

export interface NatsCluster extends AsyncDisposable {
  readonly name: string;
  readonly servers: readonly NatsServer[];
  /** Client URLs of every node, in node order; give a client all of them so it can fail over. */
  readonly urls: readonly string[];
  /**
   * Resolves once the running nodes all route to each other and agree on a JetStream meta leader. Call it
   * after restarting a node; stopped or killed nodes are left out of the check.
   */
  waitUntilFormed(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Another process can take a reserved route port before the node binds it; then we reserve new ones. */
const PORT_ATTEMPTS = 3;

/**
 * Starts `n` JetStream nodes and resolves once routes are formed and a meta leader is elected.
 *
 * @example
 * const cluster = await startCluster(3);
 * after(() => cluster.stop());
 * const nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1 });
 */
export async function startCluster(n = 3, opts: StartClusterOptions = {}): Promise<NatsCluster> {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`a cluster needs at least 2 nodes, got ${n}`);
  const name = opts.name ?? "jetbus-test";
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  for (let attempt = 1; ; attempt++) {
    const routePorts = await allocateFreePorts(n);
    const started = await Promise.allSettled(
      routePorts.map((port, i) =>
        startNatsServer({
          name: `${name}-${i + 1}`,
          config: nodeConfig(name, port, routePorts, opts.config),
          args: opts.args,
          keepStore: opts.keepStore,
          binary: opts.binary,
          startTimeoutMs: timeoutMs,
        }),
      ),
    );
    const servers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failure = started.find((r) => r.status === "rejected");
    if (failure) {
      await Promise.all(servers.map((s) => s.stop()));
      const err: unknown = failure.reason;
      if (err instanceof NatsServerStartError && err.addressInUse && attempt < PORT_ATTEMPTS) continue;
      throw err;
    }
    const cluster = new Cluster(name, servers);
    try {
      await cluster.waitUntilFormed(timeoutMs);
    } catch (err) {
      const logs = servers.map((s) => `=== ${s.name}\n${s.logs()}`).join("\n");
      await cluster.stop();
      throw new NatsServerStartError(`cluster "${name}" did not form: ${(err as Error).message}`, logs, {
        cause: err,
      });
    }
    return cluster;
  }
}

function nodeConfig(name: string, port: number, all: readonly number[], extra = ""): string {
  // Leaving a node's own port out of its routes spares it connecting to itself (a "Duplicate Route" per start).
  const routes = all.filter((p) => p !== port).map((p) => `    "nats-route://127.0.0.1:${p}"`);
  return [
    "cluster {",
    `  name: ${JSON.stringify(name)}`,
    `  listen: "127.0.0.1:${port}"`,
    `  routes: [\n${routes.join("\n")}\n  ]`,
    "}",
    extra,
    "",
  ].join("\n");
}

interface Routez {
  num_routes: number;
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

class Cluster implements NatsCluster {
  readonly urls: readonly string[];

  constructor(
    readonly name: string,
    readonly servers: readonly NatsServer[],
  ) {
    this.urls = servers.map((s) => s.url);
  }

  async waitUntilFormed(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      `cluster "${this.name}": all running nodes routed and agreeing on a meta leader`,
      async () => {
        // Throwing (rather than returning false) puts the reason into waitFor's timeout message.
        const running = this.servers.filter((s) => s.running);
        if (running.length === 0) throw new Error("no node is running");
        const leaders = await Promise.all(
          running.map(async (s) => {
            const routez = await getJson<Routez>(`${s.monitorUrl}/routez`, 1_000);
            if (routez.num_routes !== running.length - 1) {
              throw new Error(`${s.name} has ${routez.num_routes} routes, expected ${running.length - 1}`);
            }
            const jsz = await getJson<Jsz>(`${s.monitorUrl}/jsz`, 1_000);
            return jsz.meta_cluster?.leader ?? "";
          }),
        );
        const names = new Set(running.map((s) => s.name));
        if (!leaders.every((l) => l === leaders[0] && names.has(l))) {
          throw new Error(`meta leaders per node: ${JSON.stringify(leaders)}`);
        }
        return true;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

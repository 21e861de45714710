/**
 * @module A JetStream cluster of real nats-server processes on loopback.
 *
 * nats-server refuses to start a JetStream cluster node without configured routes (2.15.1 still says
 * "JetStream cluster requires configured routes or solicited leafnode for the system account"), so every node
 * must know its peers' route ports before any of them starts. We therefore reserve the route ports up front (the
 * one place the testkit picks ports itself) and give each node all the others; client and monitoring ports stay
 * server-chosen. Fixed route ports also let a restarted node rejoin where its peers expect it.
 *
 * "Formed" is what a current server reports, not a route count: since 2.10 routes are pooled (3 per peer by
 * default, plus one per pinned account such as `$SYS`), so three nodes show 8 routes each. We wait until every
 * running node has a route to every other running node (distinct `remote_name`s in `/routez`) and all of them
 * name the same running node as JetStream meta leader (`/jsz`).
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
  routes?: { remote_name?: string }[] | null;
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

/** Throws with the first node that misses a peer or disagrees on the leader; the reason ends up in waitFor's message. */
export function checkFormed(
  views: readonly { name: string; peers: readonly string[]; leader: string }[],
): true {
  const names = new Set(views.map((v) => v.name));
  for (const v of views) {
    const missing = [...names].filter((n) => n !== v.name && !v.peers.includes(n));
    if (missing.length > 0) throw new Error(`${v.name} has no route to ${missing.join(", ")} yet`);
  }
  const leaders = views.map((v) => v.leader);
  if (!leaders.every((l) => l === leaders[0] && names.has(l))) {
    throw new Error(`meta leaders per node: ${JSON.stringify(leaders)}`);
  }
  return true;
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
      `cluster "${this.name}": every running node routed to the others and agreeing on a meta leader`,
      async () => {
        // Throwing (rather than returning false) puts the reason into waitFor's timeout message.
        const running = this.servers.filter((s) => s.running);
        if (running.length === 0) throw new Error("no node is running");
        const views = await Promise.all(
          running.map(async (s) => {
            const [routez, jsz] = await Promise.all([
              getJson<Routez>(`${s.monitorUrl}/routez`, 1_000),
              getJson<Jsz>(`${s.monitorUrl}/jsz`, 1_000),
            ]);
            const peers = [...new Set((routez.routes ?? []).map((r) => r.remote_name ?? ""))];
            return { name: s.name, peers, leader: jsz.meta_cluster?.leader ?? "" };
          }),
        );
        return checkFormed(views);
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

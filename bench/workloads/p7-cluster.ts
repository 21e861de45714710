/**
 * @module
 * P7 — P1 on a 3-node cluster on loopback, R3 streams and KV (`JETBUS_REPLICAS=3`), against raw nats.js on the
 * same kind of cluster with an R3 stream. A measurement (no goal yet): every write is a replication round trip.
 * Each side gets a fresh cluster per repetition; CPU is reported per node.
 */
import { runRawP1 } from "../baselines/raw-nats.ts";
import { runJetbusThroughput } from "../jetbus/workloads.ts";
import { startCluster } from "../../shared/testkit/index.ts";
import type { BenchEnv, Workload } from "./types.ts";

const N = 20_000;
const WARMUP = 1000;

async function onCluster<T>(env: BenchEnv, run: (env: BenchEnv) => Promise<T>): Promise<T> {
  const cluster = await startCluster(3, { name: "bench-p7" });
  try {
    const first = cluster.servers[0]!;
    return await run({
      ...env,
      natsUrl: cluster.urls.join(","),
      natsServerPid: first.pid,
      natsMonitorUrl: first.monitorUrl,
      clusterPids: cluster.servers.map((s) => s.pid),
    });
  } finally {
    await cluster.stop();
  }
}

export const p7: Workload<"throughput"> = {
  name: "P7",
  kind: "throughput",
  title: `${N} no-op jobs on a 3-node cluster, R3 streams and KV (jobs/s; no goal yet)`,
  n: N,
  runs: 3,
  warmup: WARMUP,
  runJetbus: (env) =>
    onCluster(env, (c) =>
      runJetbusThroughput(c, { n: N, warmup: WARMUP, serviceEnv: { JETBUS_REPLICAS: "3" }, label: "P7" }),
    ),
  runBaselines: (env) =>
    onCluster(env, async (c) => ({
      raw: await runRawP1({
        natsUrl: c.natsUrl,
        n: N,
        warmup: WARMUP,
        serverPid: c.natsServerPid,
        replicas: 3,
      }),
    })),
};

/**
 * @module
 * `npx tsx bench/micro/publisher-cost.ts`: client CPU per published message (µs, user + system of this
 * process) for `js.publish()` and for `JetStreamPublisher`, 1,000 in flight each, on the bench's own server.
 * CPU time rather than wall time: it is what the publisher costs, and it moves less with machine noise.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { runLanes } from "../lib/lanes.ts";
import { startBenchNatsServer } from "../lib/nats-server.ts";
import { log, printResult } from "../lib/output.ts";
import { median, round } from "../lib/stats.ts";

const N = 20_000;
const IN_FLIGHT = 1000;

async function cpuMicrosPerMsg(op: () => Promise<unknown>): Promise<{ cpuUs: number; perSec: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await runLanes(N, IN_FLIGHT, op);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / N, perSec: N / (wallMs / 1000) };
}

const server = await startBenchNatsServer();
try {
  const payload = new Uint8Array(128).fill(120);
  const variants: Record<string, (nc: Awaited<ReturnType<typeof connect>>) => () => Promise<unknown>> = {
    "js.publish (noAsyncTraces)": (nc) => {
      const js = jetstream(nc);
      return () => js.publish("cost.x", payload);
    },
    JetStreamPublisher: (nc) => {
      const pub = new JetStreamPublisher(nc, { maxInFlight: IN_FLIGHT });
      return () => pub.publish("cost.x", payload);
    },
    "JetStreamPublisher + msgId": (nc) => {
      const pub = new JetStreamPublisher(nc, { maxInFlight: IN_FLIGHT });
      let i = 0;
      return () => pub.publish("cost.x", payload, { msgId: `m-${i++}` });
    },
  };
  const results: Record<string, { cpuUs: number[]; perSec: number[] }> = {};
  for (let round_ = 0; round_ < 3; round_++) {
    for (const [name, make] of Object.entries(variants)) {
      const nc = await connect({ servers: server.url, noAsyncTraces: true });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "COST", subjects: ["cost.>"], storage: StorageType.File });
      const op = make(nc);
      await runLanes(1000, IN_FLIGHT, op); // warm-up
      const r = await cpuMicrosPerMsg(op);
      (results[name] ??= { cpuUs: [], perSec: [] }).cpuUs.push(r.cpuUs);
      results[name].perSec.push(r.perSec);
      log(`${name}: ${r.cpuUs.toFixed(1)} µs CPU/msg, ${Math.round(r.perSec)} msg/s`);
      await jsm.streams.delete("COST");
      await nc.close();
    }
  }
  for (const [name, r] of Object.entries(results)) {
    printResult({
      micro: "publish",
      variant: name,
      client_cpu_us_per_msg: round(median(r.cpuUs), 1),
      per_s: Math.round(median(r.perSec)),
    });
  }
} finally {
  await server.stop();
}

/**
 * @module
 * Raw-ceiling producer process: the fastest publish path we have on nats.js (JetStreamPublisher, PERF-NOTES §2)
 * with 1,000 PubAcks in flight. No msgId: the ceiling is the bare pipeline.
 */
import { connect } from "@nats-io/transport-node";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { epochMs } from "../lib/clock.ts";
import { numberField, requireEnv, serve } from "../lib/child-side.ts";
import { runLanes } from "../lib/lanes.ts";

const IN_FLIGHT = 1000;
const subject = requireEnv("SUBJECT");
const nc = await connect({
  servers: requireEnv("NATS_URL"),
  name: "bench-raw-producer",
  noAsyncTraces: true,
});
const pub = new JetStreamPublisher(nc, { maxInFlight: IN_FLIGHT });
const payload = new TextEncoder().encode(JSON.stringify({ type: "bench:noop", data: "x".repeat(90) }));

serve(
  {
    publish: async (msg) => {
      const t0 = epochMs();
      await runLanes(numberField(msg, "count"), IN_FLIGHT, () => pub.publish(subject, payload));
      return { type: "done", t0, t1: epochMs() };
    },
  },
  async () => {
    pub.close();
    await nc.close();
  },
);

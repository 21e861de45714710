/**
 * @module
 * Raw-ceiling worker process: `consume({ callback })` (PERF-NOTES §5: ~3.6 µs per message against ~9.9 µs for
 * the async iterator) that acks every message. On `{type: "expect", count}` it reports `{type: "reached", at}`
 * when the count-th message since then has been acked.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { epochMs } from "../lib/clock.ts";
import { numberField, requireEnv, send, serve } from "../lib/child-side.ts";

const nc = await connect({ servers: requireEnv("NATS_URL"), name: "bench-raw-worker", noAsyncTraces: true });
const consumer = await jetstream(nc).consumers.get(requireEnv("STREAM"), requireEnv("CONSUMER"));

let acked = 0;
let target = Number.POSITIVE_INFINITY;
const messages = await consumer.consume({
  max_messages: 1000,
  callback: (m) => {
    m.ack();
    if (++acked === target) send({ type: "reached", at: epochMs() });
  },
});

serve(
  {
    // Answered, and the parent waits for the answer before publishing: otherwise messages could be acked
    // here before the reset, and the count would never be reached.
    expect: (msg) => {
      acked = 0;
      target = numberField(msg, "count");
      return { type: "done" };
    },
  },
  async () => {
    await messages.close();
    await nc.close();
  },
);

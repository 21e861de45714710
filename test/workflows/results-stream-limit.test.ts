/**
 * @module
 * The coordinator's results batches fit the results stream's own limit (JETBUS_MAX_MESSAGE_BYTES), not only
 * the server's max_payload: with a 64 KiB stream, 60 results of 1.5 KB (90 KB) go out in several messages and
 * the group is acked, where one 90 KB batch would be refused on every redelivery.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { OutcomeProcessor } from "../../services/coordinator/outcome-processor.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { openBuckets, provisionTopology } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { newId } from "../../shared/ids.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import { WorkflowEngine } from "../../shared/workflow/engine.ts";
import { pulledOutcomes } from "../helpers/pulled-outcomes.ts";

const LIMIT = 64 * 1024;
const topology = { ...DEFAULT_TOPOLOGY, maxMessageBytes: LIMIT };

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let publisher: JetStreamPublisher;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  await provisionTopology(nc, jsm, topology, createLogger("test", "silent"));
  publisher = new JetStreamPublisher(nc);
});

after(async () => {
  publisher?.close();
  await nc?.close();
  await server?.stop();
});

describe("results batches under the results stream's limit", () => {
  it("60 results of 1.5 KB under a 64 KiB stream: several messages, the group acked", async () => {
    const { workflows } = await openBuckets(nc);
    const engine = new WorkflowEngine(new KvWorkflowStore(workflows), { perform: async () => undefined });
    const processor = new OutcomeProcessor({
      nc,
      publisher,
      engine,
      events: new EventBatcher(publisher, "limit", () => undefined),
      log: createLogger("test", "silent"),
      resultsMaxBytes: topology.maxMessageBytes,
    });
    // All on one results subject (one window, one shard), so they would share one batch.
    const subject = resultSubject(newId("dsp"));
    const ids: string[] = [];
    for (let tries = 0; ids.length < 60 && tries < 100_000; tries++) {
      const id = newId("dsp");
      if (resultSubject(id) === subject) ids.push(id);
    }
    assert.equal(ids.length, 60, "ids of one results subject");
    const outcomes: OutcomeEntry[] = ids.map((dispatchId, i) => ({
      job_id: `j${i}`,
      dispatch_id: dispatchId,
      type: "t",
      queue: "default",
      attempt: 0,
      status: "succeeded",
      result: "r".repeat(1_500),
      started_at: 1,
      finished_at: 2,
    }));
    const m = pulledOutcomes(1, 1, outcomes);
    // The outcome message itself is over 64 KiB: handed to the processor directly, as if a bigger limit had let it in.
    await processor.handleGroup([m]);
    assert.equal(m.acks, 1);
    assert.deepEqual(m.naks, []);
    const si = await jsm.streams.info(STREAMS.results);
    assert.ok(si.state.messages >= 2, `${si.state.messages} results messages`);
    assert.ok(si.state.bytes > 90_000, `${si.state.bytes} bytes stored`);
  });
});

/**
 * @module
 * The coordinator's results batches fit the results stream's own limit (JETBUS_MAX_MESSAGE_BYTES), not only
 * the server's max_payload: with a 64 KiB stream, 60 results of 1.5 KB (90 KB) go out in several messages and
 * the group is acked, where one 90 KB batch would be refused on every redelivery.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutcomeProcessor } from "../../services/coordinator/outcome-processor.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { openBuckets } from "../../shared/nats/provision.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { newId } from "../../shared/ids.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { WorkflowEngine } from "../../shared/workflow/engine.ts";
import { pulledOutcomes } from "../helpers/pulled-outcomes.ts";
import { provisionedServer } from "../helpers/provisioned-server.ts";

const LIMIT = 64 * 1024;
const topology = { ...DEFAULT_TOPOLOGY, maxMessageBytes: LIMIT };

const env = provisionedServer(topology);

describe("results batches under the results stream's limit", () => {
  it("60 results of 1.5 KB under a 64 KiB stream: several messages, the group acked", async () => {
    const { nc, jsm, publisher } = env;
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

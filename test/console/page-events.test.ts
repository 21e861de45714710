/**
 * @module
 * What the console forwards of a workflow event to its pages: the four counts as integers and nothing else
 * (anyone can publish events; the page merges the counts into its batch view).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { pageCounts, workflowData } from "../../services/console/event-hub.ts";
import type { BusEvent } from "../../shared/sdk/types.ts";

it("copies only total, pending, processed and failed, and drops counts that are not all integers", () => {
  const forged = {
    kind: "batch_progressed",
    batchId: "bat_1",
    at: new Date(1_700_000_000_000),
    counts: { total: 3, pending: 1, processed: 2, failed: 0, state: "completed", callbacks: [] },
  } as unknown as BusEvent;
  assert.deepEqual(workflowData(forged), {
    kind: "batch_progressed",
    id: "bat_1",
    at: 1_700_000_000_000,
    counts: { total: 3, pending: 1, processed: 2, failed: 0 },
  });
  assert.equal(pageCounts({ total: 3, pending: "1", processed: 2, failed: 0 }), null);
  assert.equal(pageCounts({ total: 3, pending: 1, processed: 2 }), null);
  assert.equal(pageCounts({ total: -1, pending: 1, processed: 2, failed: 0 }), null);
  assert.equal(pageCounts(null), null);
});

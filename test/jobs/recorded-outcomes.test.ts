/**
 * @module
 * Which redeliveries a worker settles from what is recorded: a workflow job whose bit or claim is set, but never
 * a replayed run of one (the record keeps one bit per job, not per run).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KV } from "@nats-io/kv";
import { appendMembers, createBatch } from "../../shared/core/batch.ts";
import { memberJobId } from "../../shared/core/ids.ts";
import { applyOutcomes } from "../../shared/core/workflow.ts";
import type { JobEnvelope } from "../../shared/protocol/schemas.ts";
import { RecordedOutcomes } from "../../shared/worker/recorded-outcomes.ts";

const ctx = { now: 1_000, newId: () => "x" };

function recordedBatch(): KV {
  const created = createBatch(
    { id: "b1", dispatchId: "d1", name: "", queue: "q", allowFailures: true, callbacks: {} },
    ctx,
  ).next;
  const b = appendMembers(created, 0, [{ type: "t", queue: "q" }], ctx).next;
  const done = applyOutcomes(
    b,
    [{ jobId: memberJobId("b1", 0), index: 0, status: "failed", type: "t", queue: "q", attempt: 0 }],
    ctx,
  ).next;
  const entry = { operation: "PUT", json: () => ({ state: done, outbox: [] }) };
  return { get: async () => entry } as unknown as KV;
}

const member = (replay?: number): JobEnvelope =>
  ({
    v: 1,
    job_id: memberJobId("b1", 0),
    dispatch_id: "d1",
    type: "t",
    queue: "q",
    payload: null,
    attempt: 0,
    batch: { id: "b1", index: 0 },
    ...(replay ? { replay } : {}),
  }) as unknown as JobEnvelope;

describe("recorded outcomes", () => {
  it("a batch member whose bit is set is recorded; its replayed run is not", async () => {
    const r = new RecordedOutcomes({ workflows: recordedBatch() });
    assert.equal(await r.has(member()), true);
    assert.equal(await r.has(member(1)), false, "the bit is the first run's: the replay must run");
  });
});

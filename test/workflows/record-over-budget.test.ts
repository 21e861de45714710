/**
 * @module
 * A workflow write refused for its size is never retried (review finding 1): a batch recorded before the
 * dispatcher's up-front check, with then and finally of 260 KB each, would need 1 MB to complete. The
 * coordinator fails it (PAYLOAD_TOO_LARGE) without those callbacks, dead-letters the outcomes as
 * outcome_refused and acks the group, instead of nak'ing it every 500 ms forever.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutcomeProcessor } from "../../services/coordinator/outcome-processor.ts";
import { appendMembers, createBatch, sealBatch } from "../../shared/core/batch.ts";
import { memberJobId } from "../../shared/core/ids.ts";
import type { JobSpec, Transition, WorkflowState } from "../../shared/core/types.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { openBuckets } from "../../shared/nats/provision.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import type { DeadLetter, OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { WorkflowEngine } from "../../shared/workflow/engine.ts";
import { pulledOutcomes } from "../helpers/pulled-outcomes.ts";
import { provisionedServer } from "../helpers/provisioned-server.ts";

const env = provisionedServer();

describe("a workflow record over its budget", () => {
  it("fails the workflow, dead-letters its outcomes and acks the group: no nak", async () => {
    const { nc, jsm, publisher } = env;
    const { workflows } = await openBuckets(nc);
    const engine = new WorkflowEngine(new KvWorkflowStore(workflows), { perform: async () => undefined });
    const ctx = { now: Date.now(), newId: () => "x" };
    const cb = (type: string): JobSpec => ({
      type,
      queue: "default",
      payload: "p".repeat(260_000),
      options: {},
    });
    const member: JobSpec = { type: "t", queue: "default", payload: null, options: {} };
    const ref = { kind: "batch" as const, id: "bat_big" };
    // Recorded as an older dispatcher would have (no up-front check): 525 KB, within the write budget.
    await engine.apply(ref, () => {
      const created = createBatch(
        {
          id: ref.id,
          dispatchId: "dsp_big",
          name: "",
          queue: "default",
          allowFailures: false,
          callbacks: { then: cb("on-then"), finally: cb("on-finally") },
        },
        ctx,
      );
      const s = sealBatch(appendMembers(created.next, 0, [member, member], ctx).next, 2, ctx).next;
      return { ...created, next: s } satisfies Transition<WorkflowState>;
    });
    const outcomes: OutcomeEntry[] = [0, 1].map((index) => ({
      job_id: memberJobId(ref.id, index),
      dispatch_id: "dsp_big",
      type: "t",
      queue: "default",
      attempt: 0,
      status: "succeeded",
      batch: { id: ref.id, index },
      started_at: 1,
      finished_at: 2,
    }));
    const processor = new OutcomeProcessor({
      nc,
      publisher,
      engine,
      events: new EventBatcher(publisher, "big", () => undefined),
      log: createLogger("test", "silent"),
    });
    const m = pulledOutcomes(7, 1, outcomes);

    await processor.handleGroup([m]);
    assert.equal(m.acks, 1);
    assert.deepEqual(m.naks, []);
    const s = await engine.read(ref);
    assert.ok(s?.kind === "batch" && s.completed && s.cancelled, "the batch is finished");
    assert.equal(s.failure?.code, ErrorCodes.PayloadTooLarge);
    assert.deepEqual(s.callbacks, {}, "the callbacks it could not hold are dropped");
    const dl = await jsm.streams.getMessage(STREAMS.deadLetters, {
      last_by_subj: subjects.invalidDeadLetter("outcomes"),
    });
    const letter = dl!.json<DeadLetter>();
    assert.equal(letter.reason, "outcome_refused");
    assert.match(letter.error.message, /outgrew its budget/);
  });
});

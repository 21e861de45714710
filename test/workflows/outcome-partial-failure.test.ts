/**
 * @module
 * An outcome group that fails half-way (B4): its results were published, then a workflow write failed. The
 * group is handed back at once (nak after 500 ms, not the ack wait), and when it comes back its results are not
 * taken for duplicates: the done notices and job events are sent then. Only a group that succeeded as a whole
 * makes its outcomes duplicates; a redelivered message's job facts are published again anyway (deduplicated
 * by msg id and by event id).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutcomeProcessor } from "../../services/coordinator/outcome-processor.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { openBuckets } from "../../shared/nats/provision.ts";
import { newId } from "../../shared/ids.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { pulledOutcomes } from "../helpers/pulled-outcomes.ts";
import { provisionedServer } from "../helpers/provisioned-server.ts";
import { WorkflowEngine, type TransitionFn } from "../../shared/workflow/engine.ts";
import type { WorkflowRef } from "../../shared/workflow/store.ts";

const env = provisionedServer();

/** A workflow write that fails the first `fails` times (a KV leader change, a time-out). */
class FlakyEngine extends WorkflowEngine {
  fails = 1;
  override apply(ref: WorkflowRef, fn: TransitionFn): ReturnType<WorkflowEngine["apply"]> {
    if (this.fails-- > 0) return Promise.reject(new Error("simulated workflow write time-out"));
    return super.apply(ref, fn);
  }
}

const outcome = (over: Partial<OutcomeEntry>): OutcomeEntry => ({
  job_id: "j",
  dispatch_id: newId("dsp"),
  type: "t",
  queue: "default",
  attempt: 0,
  status: "succeeded",
  result: { ok: true },
  started_at: 1,
  finished_at: 2,
  ...over,
});

describe("an outcome group that fails half-way", () => {
  for (const [n, replica] of (["the same coordinator", "another coordinator"] as const).entries())
    it(`is handed back at once, and its results' done notices and events are sent when it comes back (${replica})`, async () => {
      const { nc, jsm, publisher } = env;
      const { workflows } = await openBuckets(nc);
      const engine = new FlakyEngine(new KvWorkflowStore(workflows), { perform: async () => undefined });
      const events = new EventBatcher(publisher, "partial", () => undefined);
      const newProcessor = () =>
        new OutcomeProcessor({ nc, publisher, engine, events, log: createLogger("test", "silent") });
      const processor = newProcessor();
      const plain = outcome({ job_id: "plain1" });
      // Over 2 KiB: kept in a record of its own, which the failed try already wrote.
      const big = outcome({ job_id: "plain2", result: "r".repeat(5_000) });
      const member = outcome({ job_id: "bat_x_m0", batch: { id: "bat_x", index: 0 } });
      const notices: string[] = [];
      const bigNotices: string[] = [];
      const sub = nc.subscribe(subjects.done(plain.dispatch_id), {
        callback: (_e, m) => {
          notices.push(m.string());
        },
      });
      const bigSub = nc.subscribe(subjects.done(big.dispatch_id), {
        callback: (_e, m) => {
          bigNotices.push(m.string());
        },
      });
      await nc.flush();
      const eventsBefore = (await jsm.streams.info(STREAMS.events)).state.messages;

      const first = [
        pulledOutcomes(n * 100 + 101, 1, [plain, big]),
        pulledOutcomes(n * 100 + 102, 1, [member]),
      ];
      await assert.rejects(processor.handleGroup(first), /simulated/);
      assert.deepEqual(
        first.map((m) => m.naks),
        [[500], [500]],
        "handed back after 500 ms",
      );
      assert.deepEqual(
        first.map((m) => m.acks),
        [0, 0],
      );
      assert.equal(notices.length + bigNotices.length, 0);

      const again = [
        pulledOutcomes(n * 100 + 101, 2, [plain, big]),
        pulledOutcomes(n * 100 + 102, 2, [member]),
      ];
      const second = replica === "the same coordinator" ? processor : newProcessor();
      await second.handleGroup(again);
      assert.deepEqual(
        again.map((m) => m.acks),
        [1, 1],
      );
      await waitFor("the done notice of the redelivered result", () => notices.length === 1);
      await waitFor("the done notice of the redelivered 5 KB result", () => bigNotices.length === 1);
      assert.match(bigNotices[0]!, /r{5000}/);
      const eventsAfter = (await jsm.streams.info(STREAMS.events)).state.messages;
      assert.ok(eventsAfter > eventsBefore, "the job facts were published");

      // Now the group succeeded: the same result again is a duplicate (no second notice)...
      await second.handleGroup([pulledOutcomes(n * 100 + 103, 1, [plain, big])]);
      await nc.flush();
      assert.equal(notices.length, 1);
      assert.equal(bigNotices.length, 1);
      sub.unsubscribe();
      bigSub.unsubscribe();
    });
});

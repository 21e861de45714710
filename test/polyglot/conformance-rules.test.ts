/**
 * @module
 * The conformance kit's pure parts, without a server: reading ack subjects, and the `ack-after-stored` rule
 * on hand-made observation logs (including a PubAck that arrives before the kit's copy of its publish).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Facts, type RunFacts } from "../../cli/conformance/facts.ts";
import { parseAckSubject, type Seen } from "../../cli/conformance/observer.ts";
import { RULES } from "../../cli/conformance/rules.ts";
import { script } from "../../cli/conformance/script.ts";

const JOB = "dsp_conf_x_result";
const env = {
  v: 1,
  job_id: JOB,
  dispatch_id: JOB,
  type: "t",
  queue: "default",
  options: {},
  attempt: 0,
  enqueued_at: 1,
};
const outcome = {
  v: 1,
  outcomes: [
    {
      job_id: JOB,
      dispatch_id: JOB,
      type: "t",
      queue: "default",
      attempt: 0,
      status: "succeeded",
      started_at: 1,
      finished_at: 2,
    },
  ],
};

type Step = "delivery" | "publish" | "puback" | "ack";

/** A log of one delivery of the `result` case, its outcome publish, the PubAck and the ack, in `order`. */
function log(order: Step[]): Seen[] {
  const make: Record<Step, (i: number) => Seen> = {
    delivery: (i) => ({
      i,
      at: i,
      kind: "delivery",
      seq: 7,
      delivered: 1,
      subject: "jetbus.jobs.default.t",
      raw: JSON.stringify(env),
      env,
    }),
    publish: (i) => ({
      i,
      at: i,
      kind: "publish",
      subject: "jetbus.outcomes.w1",
      reply: "_INBOX.a.b",
      msgId: `${JOB}@o7.1`,
      headers: {},
      raw: "",
      body: outcome,
    }),
    puback: (i) => ({ i, at: i, kind: "puback", reply: "_INBOX.a.b", stream: "JETBUS_OUTCOMES", seq: 3 }),
    ack: (i) => ({ i, at: i, kind: "ack", seq: 7, delivered: 1, body: "+ACK" }),
  };
  return order.map((s, i) => make[s](i));
}

function ackRule(seen: Seen[]): string[] {
  const run: RunFacts = {
    queue: "default",
    type: "t",
    consumer: "jobs-default-t-x",
    ackWaitMs: 2_000,
    expectedAckWaitMs: 2_000,
    cases: [{ c: script(2_000)[0]!, jobId: JOB, dispatchId: JOB, traceId: "0".repeat(32) }],
    seen,
    end: { consumer: null, results: {}, registry: { first: [], last: [] }, now: 0 },
  };
  return RULES.find((r) => r.name === "ack-after-stored")!.check(new Facts(run));
}

describe("the conformance kit's rules", () => {
  it("reads both forms of ack subject", () => {
    assert.deepEqual(parseAckSubject("$JS.ACK.JETBUS_JOBS.jobs-q-t-1.2.41.40.1796309539133847121.0"), {
      consumer: "jobs-q-t-1",
      delivered: 2,
      seq: 41,
    });
    assert.deepEqual(
      parseAckSubject("$JS.ACK.hub.ACCHASH.JETBUS_JOBS.jobs-q-t-1.3.9.8.1796309539133847121.0.tok"),
      {
        consumer: "jobs-q-t-1",
        delivered: 3,
        seq: 9,
      },
    );
    assert.equal(parseAckSubject("jetbus.jobs.q.t"), null);
  });

  it("ack-after-stored passes an ack that follows the outcome's PubAck, in either arrival order of copy and PubAck", () => {
    assert.deepEqual(ackRule(log(["delivery", "publish", "puback", "ack"])), []);
    assert.deepEqual(ackRule(log(["delivery", "puback", "publish", "ack"])), []);
  });

  it("ack-after-stored fails an ack before the outcome is published, or before it is stored", () => {
    assert.match(
      ackRule(log(["delivery", "ack", "publish", "puback"]))[0] ?? "",
      /acked before jetbus\.outcomes\.w1 was even published/,
    );
    assert.match(
      ackRule(log(["delivery", "publish", "ack", "puback"]))[0] ?? "",
      /acked before jetbus\.outcomes\.w1 \(msg id .*\) was stored/,
    );
    assert.match(ackRule(log(["delivery", "ack"]))[0] ?? "", /acked with no outcome/);
  });
});

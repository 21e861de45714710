/**
 * @module
 * A job dispatched and worked WITHOUT the jetbus SDK, the way a Go or Python service would do it: plain
 * NATS (`@nats-io/transport-node` + `@nats-io/jetstream`) and the JSON shapes of protocol v1. The TypeBox
 * schemas (the same ones as shared/protocol/schema/*.json) only check what we send and receive. The SDK is
 * used for nothing but the final check (`bus.wait`, `bus.deadLetters`).
 *
 * This file is the worked example for docs/protocol.md: read it top to bottom.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { DeadLetter } from "../../shared/protocol/dead-letter.ts";
import { JobEnvelope } from "../../shared/protocol/envelope.ts";
import { jobConsumerName } from "../../shared/protocol/names.ts";
import { OutcomeMessage, ResultRecord } from "../../shared/protocol/outcome.ts";
import { DispatchOk, DispatchRequest } from "../../shared/protocol/requests.ts";
import { assertSchema } from "../../shared/protocol/validate.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import type { Bus } from "../../shared/index.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let bus: Bus; // only for the final checks

before(async () => {
  mesh = await startMesh();
  nc = await connect({ servers: mesh.url, name: "foreign-service", noAsyncTraces: true });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  bus = await mesh.bus();
});

after(async () => {
  await nc?.close();
  await mesh?.stop();
});

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * Step 2 for a foreign worker: bind the ONE durable pull consumer of (queue, type), named by the protocol's
 * rule, creating it only if it is missing (on nats-server 2.9 an "add" silently replaces a consumer's config).
 */
async function pullOneJob(queue: string, type: string) {
  const durable = jobConsumerName(queue, type); // shared with every other worker of (queue, type)
  const exists = await jsm.consumers.info("JETBUS_JOBS", durable).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await jsm.consumers.add("JETBUS_JOBS", {
      durable_name: durable,
      filter_subject: `jetbus.jobs.${queue}.${type}`,
      ack_policy: AckPolicy.Explicit, // ack only after the outcome is stored
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000), // JETBUS_ACK_WAIT_MS, in nanoseconds; long jobs send "+WPI" (working) acks
      max_deliver: -1, // the worker counts attempts itself and dead-letters
      max_ack_pending: 10_000,
    });
  }
  const consumer = await js.consumers.get("JETBUS_JOBS", durable);
  const msg = await consumer.next({ expires: 5_000 }); // pull only as many as you have free slots
  assert.ok(msg, "a job message");
  return msg;
}

describe("a foreign worker speaking protocol v1", () => {
  it("names consumers as docs/protocol.md says", () => {
    assert.equal(jobConsumerName("default", "emails:send"), "jobs-default-emails-send-c8945e6b52");
  });

  it("dispatches, pulls, runs, reports a success, acks; bus.wait and the result record show it", async () => {
    const type = uniq("geo:lookup");
    const dispatchId = `dsp_${uniq("foreign").replace(/-/g, "_")}`;

    // Step 1: dispatch. One request to `jetbus.v1.dispatch`; the client makes the dispatch id, so retrying the
    // request after a time-out is safe (the reply then says duplicate: true and no second job is stored).
    const request = {
      v: 1,
      job: { dispatch_id: dispatchId, type, payload: { ip: "192.0.2.7" }, options: { retry: 2 } },
    };
    assertSchema(DispatchRequest, request, "dispatch request");
    const reply = (await nc.request("jetbus.v1.dispatch", json(request), { timeout: 5_000 })).json();
    assert.deepEqual(assertSchema(DispatchOk, reply, "dispatch reply"), {
      v: 1,
      ok: true,
      dispatch_id: dispatchId,
      duplicate: false,
    });

    // Step 2: pull the job from JETBUS_JOBS, subject `jetbus.jobs.<queue>.<type>`, via the durable consumer.
    const msg = await pullOneJob("default", type);
    assert.equal(msg.subject, `jetbus.jobs.default.${type}`);
    const env = assertSchema(JobEnvelope, msg.json(), "job envelope");
    assert.equal(env.dispatch_id, dispatchId);
    assert.equal(env.job_id, dispatchId); // a plain job's id is its dispatch id
    assert.deepEqual(env.payload, { ip: "192.0.2.7" });
    assert.equal(env.options.retry, 2);
    // The attempt (0-based) = envelope attempt + redeliveries of this message (a redelivery means the worker
    // holding it died). A job whose `not_before` is still in the future must not run yet (see docs).
    const attempt = env.attempt + (msg.info.deliveryCount - 1);
    assert.equal(attempt, 0);
    const traceparent = msg.headers?.get("traceparent"); // W3C trace context: continue the trace with it

    // Step 3: run the handler.
    const startedAt = Date.now();
    const result = { country: "ZZ", ip: (env.payload as { ip: string }).ip };
    const finishedAt = Date.now();

    // Step 4: report the outcome on `jetbus.outcomes.<any token naming this worker>`. One message may carry
    // several entries; statuses: succeeded | failed (terminal, after dead-lettering) | retried | skipped.
    const outcome = {
      v: 1,
      outcomes: [
        {
          job_id: env.job_id,
          dispatch_id: env.dispatch_id,
          type: env.type,
          queue: env.queue,
          attempt,
          status: "succeeded",
          result,
          started_at: startedAt,
          finished_at: finishedAt,
          ...(traceparent ? { traceparent } : {}),
        },
      ],
    };
    assertSchema(OutcomeMessage, outcome, "outcome message");
    const pa = await js.publish("jetbus.outcomes.py-worker-1", json(outcome), {
      msgID: `${env.job_id}@o${msg.seq}.${msg.info.deliveryCount}`, // reused if this publish is retried
    });
    assert.equal(pa.stream, "JETBUS_OUTCOMES");

    // Step 5: ack the job only now that its outcome is stored (a crash before this redelivers the job).
    assert.equal(await msg.ackAck(), true);

    // Step 6 (any client): the coordinator records the result in KV bucket jetbus-results (key = dispatch id)
    // and wakes waiters on core subject `jetbus.done.<dispatch id>`; the SDK's bus.wait reads both.
    assert.deepEqual(await bus.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result,
      attempts: 1,
    });
    const stored = await jsm.streams.getMessage("KV_jetbus-results", {
      last_by_subj: `$KV.jetbus-results.${dispatchId}`,
    });
    assert.ok(stored);
    const record = assertSchema(ResultRecord, stored.json(), "result record");
    assert.deepEqual(record, {
      v: 1,
      dispatch_id: dispatchId,
      job_id: dispatchId,
      type,
      queue: "default",
      status: "succeeded",
      result,
      attempts: 1,
      finished_at: finishedAt,
    });
    const info = await jsm.consumers.info("JETBUS_JOBS", jobConsumerName("default", type));
    assert.equal(info.num_ack_pending + info.num_pending, 0, "the job is settled");
  });

  it("reports a terminal failure: dead letter first, then the failed outcome, then the ack", async () => {
    const type = uniq("geo:fail");
    const dispatchId = `dsp_${uniq("foreign").replace(/-/g, "_")}`;

    // Step 1: dispatch (retry 0: the first failure is terminal).
    const reply = (
      await nc.request(
        "jetbus.v1.dispatch",
        json({ v: 1, job: { dispatch_id: dispatchId, type, payload: { ip: "bad" } } }),
        { timeout: 5_000 },
      )
    ).json();
    assertSchema(DispatchOk, reply, "dispatch reply");

    // Step 2: pull.
    const msg = await pullOneJob("default", type);
    const env = assertSchema(JobEnvelope, msg.json(), "job envelope");
    const attempt = env.attempt + (msg.info.deliveryCount - 1);
    const retry = env.options.retry ?? 0;

    // Step 3: the handler fails. attempt >= retry, so retries are spent: the job is terminal.
    // (Were attempts left, the worker would publish the envelope again with attempt + 1 — on
    // `jetbus.delayed.<queue>.<type>` with `not_before` = now + backoff_ms when there is a backoff — and
    // report status "retried".)
    assert.ok(attempt >= retry);
    const error = { code: "HANDLER_ERROR", message: "ip 'bad' is not an address", retryable: true };
    const failedAt = Date.now();

    // Step 4a: keep the job: a dead letter on `jetbus.dlq.<queue>.<type>` (replayable by bus.deadLetters).
    const letter = {
      v: 1,
      reason: "exhausted",
      envelope: { ...env, attempt },
      source_subject: msg.subject,
      error,
      attempts: attempt + 1,
      failed_at: failedAt,
    };
    assertSchema(DeadLetter, letter, "dead letter");
    await js.publish(`jetbus.dlq.${env.queue}.${env.type}`, json(letter), {
      msgID: `dlq-JETBUS_JOBS-${msg.seq}`,
    });

    // Step 4b: the terminal outcome.
    const outcome = {
      v: 1,
      outcomes: [
        {
          job_id: env.job_id,
          dispatch_id: env.dispatch_id,
          type: env.type,
          queue: env.queue,
          attempt,
          status: "failed",
          error,
          started_at: failedAt,
          finished_at: failedAt,
        },
      ],
    };
    assertSchema(OutcomeMessage, outcome, "outcome message");
    await js.publish("jetbus.outcomes.py-worker-1", json(outcome), {
      msgID: `${env.job_id}@o${msg.seq}.${msg.info.deliveryCount}`,
    });

    // Step 5: ack.
    assert.equal(await msg.ackAck(), true);

    // Step 6: everyone sees the failure, and the dead letter can be listed (and replayed).
    const out = await bus.wait(dispatchId, { timeout: 10_000 });
    assert.equal(out.status, "failed");
    assert.equal(out.attempts, 1);
    if (out.status === "failed") {
      assert.equal(out.error.code, "HANDLER_ERROR");
      assert.equal(out.error.message, "ip 'bad' is not an address");
    }
    const [dl] = await waitFor("the dead letter", async () => {
      const l = await bus.deadLetters.list({ type });
      return l.length > 0 ? l : null;
    });
    assert.equal(dl!.reason, "exhausted");
    assert.equal(dl!.dispatchId, dispatchId);
    assert.deepEqual(dl!.payload, { ip: "bad" });
  });
});

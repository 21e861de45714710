/**
 * @module
 * Bad input never crashes a service or blocks the jobs behind it. Requests sent over raw NATS get
 * `{v: 1, ok: false, error: {code, message}}` naming the bad field; garbage stored straight onto a job subject
 * is dead-lettered (reason "malformed"); handlers that throw non-Errors still give readable errors.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { job, type Bus } from "../../shared/index.ts";
import { ErrorReply } from "../../shared/protocol/requests.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { assertSchema } from "../../shared/protocol/validate.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
let nc: NatsConnection;

before(async () => {
  mesh = await startMesh({ env: { JETBUS_MAX_PAYLOAD_BYTES: "1024" } });
  client = await mesh.bus();
  worker = await mesh.bus();
  await worker.startWorkers();
  nc = await connect({ servers: mesh.url, noAsyncTraces: true });
});

after(async () => {
  await nc?.close();
  await mesh?.stop();
});

const enc = new TextEncoder();

async function request(subject: string, body: unknown): Promise<Record<string, unknown>> {
  const data = typeof body === "string" ? enc.encode(body) : enc.encode(JSON.stringify(body));
  const reply = await nc.request(subject, data, { timeout: 5_000 });
  return reply.json<Record<string, unknown>>();
}

/** Asserts the reply is a protocol error reply with `code`, and that the message matches `message`. */
function assertError(reply: unknown, code: string, message: RegExp): void {
  const r = assertSchema(ErrorReply, reply, "error reply");
  assert.equal(r.error.code, code, `code for ${r.error.message}`);
  assert.match(r.error.message, message);
  assert.doesNotMatch(r.error.message, /\n\s+at /, "no stack trace in the message");
  if (code === "VALIDATION") {
    // Every VALIDATION reply lists what is wrong the same way, whatever the body was.
    const errors = (r.error.details as { errors?: unknown } | undefined)?.errors;
    assert.ok(
      Array.isArray(errors) && errors.length > 0 && errors.length <= 5,
      `details.errors of ${r.error.message}`,
    );
    assert.ok(errors.every((e) => typeof e === "string"));
  }
}

const D = REQUEST_SUBJECTS.dispatch;
const BULK = REQUEST_SUBJECTS.dispatchBulk;
const CHAIN = REQUEST_SUBJECTS.chain;
const BATCH = REQUEST_SUBJECTS.batchCreate;
const big = "x".repeat(2_000);

/** [subject, body, code, message] — every request subject, every kind of bad input. */
const cases: [string, unknown, string, RegExp][] = [
  [D, "{not json", "VALIDATION", /dispatch request is not valid JSON/],
  [BULK, "{not json", "VALIDATION", /bulk dispatch request is not valid JSON/],
  [CHAIN, "[1,2", "VALIDATION", /chain request is not valid JSON/],
  [BATCH, "", "VALIDATION", /batch create request is not valid JSON/],
  [D, "[]", "VALIDATION", /must be a JSON object/],
  [D, "[1]", "VALIDATION", /must be a JSON object/],
  [D, "null", "VALIDATION", /must be a JSON object/],
  [BULK, '"jobs"', "VALIDATION", /must be a JSON object/],
  [
    D,
    { v: 1, job: { type: "t", options: { unique_for_ms: 10_000_000_000 } } },
    "VALIDATION",
    /job\.options\.unique_for_ms is 10000000000; the limit is \d+ \(JETBUS_UNIQUE_MAX_MS\)/,
  ],
  [D, { v: 1, job: {} }, "VALIDATION", /job\.type: is required/],
  [D, { v: 1 }, "VALIDATION", /job: is required/],
  [BULK, { v: 1 }, "VALIDATION", /jobs: is required/],
  [BULK, { v: 1, jobs: [] }, "VALIDATION", /jobs: /],
  [CHAIN, { v: 1, chain_id: "c1", jobs: [{}] }, "VALIDATION", /jobs\[0\]\.type: is required/],
  [BATCH, { v: 1, batch_id: "b1", jobs: [{ type: 42 }] }, "VALIDATION", /jobs\[0\]\.type: must be/],
  [D, { v: 1, job: { type: 42 } }, "VALIDATION", /job\.type: must be/],
  [D, { v: 1, job: { type: "t", options: { retry: "x" } } }, "VALIDATION", /job\.options\.retry: must be/],
  [
    D,
    { v: 1, job: { type: "t", options: { nope: 1 } } },
    "VALIDATION",
    /job\.options\.nope: is not a known field/,
  ],
  [D, { v: 1, job: { type: "a b" } }, "VALIDATION", /job\.type: must be .*'\.' only between tokens/],
  [D, { v: 1, job: { type: "a.*" } }, "VALIDATION", /job\.type: must be/],
  [D, { v: 1, job: { type: "a.>" } }, "VALIDATION", /job\.type: must be/],
  [D, { v: 1, job: { type: "a..b" } }, "VALIDATION", /job\.type: must be/],
  [D, { v: 1, job: { type: ".a" } }, "VALIDATION", /job\.type: must be/],
  [D, { v: 1, job: { type: "t", queue: "q.x" } }, "VALIDATION", /job\.queue: must be/],
  [D, { v: 1, job: { type: "t", queue: "q*" } }, "VALIDATION", /job\.queue: must be/],
  [CHAIN, { v: 1, chain_id: "c2", queue: "a b", jobs: [{ type: "t" }] }, "VALIDATION", /queue: must be/],
  [
    D,
    { v: 1, job: { type: "t", options: { delay_ms: -5 } } },
    "VALIDATION",
    /job\.options\.delay_ms: must be a whole number of milliseconds >= 0/,
  ],
  [D, { v: 1, job: { type: "t", options: { timeout_ms: -1 } } }, "VALIDATION", /job\.options\.timeout_ms/],
  [D, { v: 1, job: { type: "t", options: { backoff_ms: 1.5 } } }, "VALIDATION", /job\.options\.backoff_ms/],
  [
    BATCH,
    { v: 1, batch_id: "b2", jobs: [{ type: "t", options: { unique_for_ms: -1 } }] },
    "VALIDATION",
    /jobs\[0\]\.options\.unique_for_ms/,
  ],
  [
    D,
    { v: 1, job: { type: "t", payload: { big } } },
    "PAYLOAD_TOO_LARGE",
    /job\.payload is \d+ bytes; the limit is 1024 \(JETBUS_MAX_PAYLOAD_BYTES\)/,
  ],
  [
    CHAIN,
    { v: 1, chain_id: "c3", jobs: [{ type: "t", payload: big }] },
    "PAYLOAD_TOO_LARGE",
    /jobs\[0\]\.payload is \d+ bytes/,
  ],
  [
    BATCH,
    { v: 1, batch_id: "b3", jobs: [{ type: "t" }, { type: "t", payload: big }] },
    "PAYLOAD_TOO_LARGE",
    /jobs\[1\]\.payload/,
  ],
  [
    D,
    { v: 2, job: { type: "t" } },
    "UNSUPPORTED_VERSION",
    /unsupported protocol version 2: this service speaks v1/,
  ],
  [BULK, { v: 2, jobs: [{ type: "t" }] }, "UNSUPPORTED_VERSION", /version 2/],
  [CHAIN, { v: "1", chain_id: "c4", jobs: [{ type: "t" }] }, "UNSUPPORTED_VERSION", /version "1"/],
  [BATCH, { batch_id: "b4" }, "UNSUPPORTED_VERSION", /no protocol version: set "v": 1/],
];

describe("bad requests over raw NATS", () => {
  for (const [subject, body, code, message] of cases) {
    const shown = typeof body === "string" ? body || "(empty)" : JSON.stringify(body).slice(0, 80);
    it(`${subject} ${shown} → ${code}`, async () => {
      assertError(await request(subject, body), code, message);
    });
  }

  it("a bulk request reports a bad job in its own entry", async () => {
    const reply = await request(BULK, {
      v: 1,
      jobs: [{ type: uniq("fine") }, { type: "a..b" }, { type: "t", payload: big }, 7],
    });
    assert.equal(reply.ok, true);
    const results = reply.results as { ok: boolean; error?: { code: string; message: string } }[];
    assert.equal(results.length, 4);
    assert.equal(results[0]!.ok, true);
    assert.equal(results[1]!.error?.code, "VALIDATION");
    assert.match(results[1]!.error!.message, /jobs\[1\]\.type: must be/);
    assert.equal(results[2]!.error?.code, "PAYLOAD_TOO_LARGE");
    assert.match(results[2]!.error!.message, /jobs\[2\]\.payload/);
    assert.equal(results[3]!.error?.code, "VALIDATION");
    assert.match(results[3]!.error!.message, /jobs\[3\]/);
  });

  it("after all that the dispatcher still answers and a normal job runs", async () => {
    const type = uniq("after-bad");
    worker.register(type, (ctx) => ctx.bind<{ ok: boolean }>());
    const reply = await request(D, { v: 1, job: { type, payload: { ok: true } } });
    assert.equal(reply.ok, true);
    assert.deepEqual(await client.wait(reply.dispatch_id as string, { timeout: 10_000 }), {
      status: "succeeded",
      result: { ok: true },
      attempts: 1,
    });
  });
});

describe("bad messages and bad handlers", () => {
  it("garbage stored on a job subject is dead-lettered as malformed and does not block the next job", async () => {
    const type = uniq("garbage");
    const runs = new Runs();
    worker.register(type, (ctx) => runs.record(ctx), {
      concurrency: 1,
    });
    const js = jetstream(nc);
    await js.publish(`jetbus.jobs.default.${type}`, enc.encode("this is not json"));
    await js.publish(`jetbus.jobs.default.${type}`, enc.encode(JSON.stringify({ v: 1, job_id: 5 })));
    const { dispatchId } = await client.dispatch(job(type));
    assert.equal((await client.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    assert.deepEqual(
      runs.all.map((r) => r.dispatchId),
      [dispatchId],
    );
    const letters = await waitFor("two malformed dead letters", async () => {
      const all = await client.deadLetters.list();
      const bad = all.filter((d) => d.reason === "malformed");
      return bad.length >= 2 ? bad : null;
    });
    assert.equal(letters.length, 2);
    for (const d of letters) {
      assert.equal(d.error.code, "MALFORMED");
      assert.equal(d.subject, "jetbus.dlq._invalid.jobs");
      assert.equal(d.attempts, 1);
    }
    assert.match(letters[0]!.error.message, /not valid JSON/);
    assert.match(letters[1]!.error.message, /invalid job envelope: dispatch_id: is required/);
    await assert.rejects(
      client.deadLetters.replay(letters[0]!.seq),
      /could not be decoded.*nothing to replay/,
    );
  });

  it("a handler that throws a string or a plain object is retried, then dead-lettered with a readable message", async () => {
    const type = uniq("weird-throw");
    const runs = new Runs();
    worker.register(type, (ctx) => {
      runs.record(ctx);
      throw ctx.bind<{ kind: string }>().kind === "string"
        ? "plain string failure"
        : { reason: "quota", left: 0 };
    });
    const s = await client.dispatch(job(type, { kind: "string" }).retry(1));
    const o = await client.dispatch(job(type, { kind: "object" }).retry(1));
    const [so, oo] = await Promise.all([
      client.wait(s.dispatchId, { timeout: 10_000 }),
      client.wait(o.dispatchId, { timeout: 10_000 }),
    ]);
    assert.equal(so.status, "failed");
    assert.equal(oo.status, "failed");
    assert.equal(so.attempts, 2, "retried");
    assert.equal(oo.attempts, 2, "retried");
    if (so.status === "failed") {
      assert.equal(so.error.code, "HANDLER_ERROR");
      assert.equal(so.error.message, "plain string failure");
    }
    if (oo.status === "failed") assert.match(oo.error.message, /\{"reason":"quota","left":0\}/);
    assert.equal(runs.count(), 4);
    const letters = await waitFor("two dead letters", async () => {
      const l = await client.deadLetters.list({ type });
      return l.length >= 2 ? l : null;
    });
    assert.deepEqual(letters.map((d) => d.reason).sort(), ["exhausted", "exhausted"]);
    assert.ok(letters.every((d) => !d.error.message.includes("[object Object]")));
  });
});

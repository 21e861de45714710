/**
 * @module
 * One span tree per dispatch, for plain jobs, in-process: the mesh (dispatcher, coordinator) and an in-process
 * worker share this file's ONE OpenTelemetry SDK, exporting to memory. Checked exactly (names, kinds, parents,
 * status, attributes): a dispatch retried once is a PRODUCER root with two sibling CONSUMER attempts (the
 * failed one ERROR with `error.type` and an exception event), also when the attempts pass through the delay
 * stream; a dispatch made inside an application span is its child; a raw NATS request carrying a hand-made
 * `traceparent` joins that trace.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { headers } from "@nats-io/transport-node";
import { SpanKind, trace } from "@opentelemetry/api";
import { job, type Bus, type BusEvent } from "../../shared/index.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { continuesTrace, rereadSamplerSetting, traceWanted } from "../../shared/telemetry/spans.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import {
  assertDestinations,
  jobAttrs,
  n,
  one,
  processAttrs,
  render,
  startMemoryTracing,
  treeOf,
} from "../helpers/span-tree.ts";
import { ncOf } from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";

const tracing = startMemoryTracing();
let mesh: Mesh;
let bus: Bus;
const Q = "default";
const dest = (type: string) => `jobs.${Q}.${type}`;

// One bus both dispatches and works: the trees below do not depend on which process sends.
before(async () => ({ mesh, worker: bus } = await startClientAndWorker()));
after(async () => {
  await mesh?.stop();
  await tracing.shutdown();
});

describe("span tree of a job", () => {
  it("a retried dispatch: a PRODUCER root with sibling CONSUMER attempts, the failed one ERROR", async () => {
    const type = uniq("tel-retry");
    bus.register(type, (ctx) => {
      if (ctx.attempt === 0) throw new Error("first attempt fails");
      return "ok";
    });
    const { dispatchId } = await bus.dispatch(job(type, { x: 1 }).retry(1));
    assert.deepEqual(await bus.wait(dispatchId, { timeout: 15_000 }), {
      status: "succeeded",
      result: "ok",
      attempts: 2,
    });
    const all = await tracing.traceWhere(
      "the send span and two process spans",
      (s) => s.attributes["jetbus.dispatch_id"] === dispatchId && s.kind === "PRODUCER",
      (t) => t.filter((s) => s.kind === "CONSUMER").length >= 2,
    );
    const send = one(all, "send", (s) => s.kind === "PRODUCER");
    assert.equal(send.parentSpanId, "", "a dispatch outside any span is a root");
    // A successful span keeps status UNSET: instrumentation only sets ERROR (OK is the application's to set).
    assert.deepEqual(
      treeOf(all, send, { status: true }),
      n(
        `send ${dest(type)}`,
        "PRODUCER",
        [
          n(`process ${dest(type)}`, "CONSUMER", [], { status: "ERROR" }),
          n(`process ${dest(type)}`, "CONSUMER", [], { status: "UNSET" }),
        ],
        { status: "UNSET" },
      ),
      render(all),
    );
    assert.equal(all.length, 3, render(all));
    const ids = { "messaging.message.id": dispatchId, "jetbus.dispatch_id": dispatchId };
    assert.deepEqual(send.attributes, jobAttrs("send", Q, type, ids));
    const byAttempt = all
      .filter((s) => s.kind === "CONSUMER")
      .sort(
        (a, b) => (a.attributes["jetbus.attempt"] as number) - (b.attributes["jetbus.attempt"] as number),
      );
    assert.deepEqual(
      processAttrs(byAttempt[0]!),
      jobAttrs("process", Q, type, {
        ...ids,
        "jetbus.attempt": 0,
        "jetbus.outcome": "failed",
        "error.type": "HANDLER_ERROR",
      }),
    );
    assert.deepEqual(byAttempt[0]!.events, ["exception"]);
    assert.deepEqual(
      processAttrs(byAttempt[1]!),
      jobAttrs("process", Q, type, { ...ids, "jetbus.attempt": 1, "jetbus.outcome": "succeeded" }),
    );
    assert.deepEqual(byAttempt[1]!.events, []);
    assertDestinations(all);
  });

  it("a delayed job retried with backoff: both attempts, parked in the delay stream, stay siblings", async () => {
    const type = uniq("tel-delay");
    bus.register(type, (ctx) => {
      if (ctx.attempt === 0) throw new Error("first attempt fails");
      return "ok";
    });
    const { dispatchId } = await bus.dispatch(job(type).delay(200).retry(1).backoff(200));
    assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    const all = await tracing.traceWhere(
      "the delayed job's spans",
      (s) => s.attributes["jetbus.dispatch_id"] === dispatchId && s.kind === "PRODUCER",
      (t) => t.filter((s) => s.kind === "CONSUMER").length >= 2,
    );
    const send = one(all, "send", (s) => s.kind === "PRODUCER");
    assert.deepEqual(
      treeOf(all, send, { status: true }),
      n(
        `send ${dest(type)}`,
        "PRODUCER",
        [
          n(`process ${dest(type)}`, "CONSUMER", [], { status: "ERROR" }),
          n(`process ${dest(type)}`, "CONSUMER", [], { status: "UNSET" }),
        ],
        { status: "UNSET" },
      ),
      render(all),
    );
    assert.equal(all.length, 3, render(all));
  });

  it("a dispatch made inside an active application span is a child of it", async () => {
    const type = uniq("tel-app");
    bus.register(type, () => "ok");
    const app = trace.getTracer("test-app");
    const { parent, dispatchId } = await app.startActiveSpan(
      "handle order",
      { kind: SpanKind.SERVER },
      async (span) => {
        try {
          const r = await bus.dispatch(job(type));
          return { parent: span.spanContext(), dispatchId: r.dispatchId };
        } finally {
          span.end();
        }
      },
    );
    assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    const all = await tracing.traceWhere(
      "the application span's trace",
      (s) => s.spanId === parent.spanId,
      (t) => t.some((s) => s.kind === "CONSUMER"),
    );
    const root = one(all, "app", (s) => s.name === "handle order");
    assert.equal(root.traceId, parent.traceId);
    assert.deepEqual(
      treeOf(all, root),
      n("handle order", "SERVER", [
        n(`send ${dest(type)}`, "PRODUCER", [n(`process ${dest(type)}`, "CONSUMER")]),
      ]),
      render(all),
    );
  });

  it("a raw NATS request with a hand-made traceparent joins that trace", async () => {
    const type = uniq("tel-raw");
    bus.register(type, () => "ok");
    const traceId = [...crypto.getRandomValues(new Uint8Array(16))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const spanId = "00f067aa0ba902b7";
    const h = headers();
    h.set("traceparent", `00-${traceId}-${spanId}-01`);
    const dispatchId = `dsp_${uniq("raw").replace(/[^A-Za-z0-9]/g, "")}`;
    const reply = await ncOf(bus).request(
      REQUEST_SUBJECTS.dispatch,
      JSON.stringify({ v: 1, job: { type, dispatch_id: dispatchId, payload: { raw: true } } }),
      { headers: h, timeout: 5_000 },
    );
    assert.deepEqual(reply.json(), { v: 1, ok: true, dispatch_id: dispatchId, duplicate: false });
    assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    const all = await tracing.traceWhere(
      "the hand-made trace",
      (s) => s.traceId === traceId,
      (t) => t.some((s) => s.kind === "CONSUMER"),
    );
    const send = one(all, "send", (s) => s.kind === "PRODUCER");
    assert.equal(send.traceId, traceId);
    assert.equal(send.parentSpanId, spanId);
    assert.equal(send.attributes["jetbus.dispatch_id"], dispatchId);
    const proc = one(all, "process", (s) => s.kind === "CONSUMER");
    assert.equal(proc.parentSpanId, send.spanId);
  });

  it("an unsampled parent: under parent-based samplers no span is made, and the job runs as usual", async () => {
    const tp = (flags: string) => `00-${"ab".repeat(16)}-${"cd".repeat(8)}-${flags}`;
    const saved = process.env.OTEL_TRACES_SAMPLER;
    try {
      delete process.env.OTEL_TRACES_SAMPLER; // the default, parentbased_always_on
      rereadSamplerSetting();
      assert.deepEqual(
        [traceWanted(tp("00")), traceWanted(tp("01")), traceWanted(tp("03"))],
        [false, true, true],
      );
      assert.equal(traceWanted(undefined), true, "a root decides for itself (at the dispatcher)");
      assert.equal(continuesTrace(undefined), false, "nothing after the dispatcher starts a root");
      process.env.OTEL_TRACES_SAMPLER = "parentbased_traceidratio";
      rereadSamplerSetting();
      assert.equal(traceWanted(tp("00")), false);
      process.env.OTEL_TRACES_SAMPLER = "always_on"; // ignores the parent: its spans must be made
      rereadSamplerSetting();
      assert.equal(traceWanted(tp("00")), true);
    } finally {
      if (saved === undefined) delete process.env.OTEL_TRACES_SAMPLER;
      else process.env.OTEL_TRACES_SAMPLER = saved;
      rereadSamplerSetting();
    }

    const type = uniq("tel-unsampled");
    bus.register(type, () => "ok");
    const seen: BusEvent[] = [];
    const sub = bus.observe((e) => {
      if (e.jobType === type) seen.push(e);
    });
    await sub.ready;
    const h = headers();
    h.set("traceparent", tp("00"));
    const dispatchId = `dsp_${uniq("unsampled").replace(/[^A-Za-z0-9]/g, "")}`;
    await ncOf(bus).request(
      REQUEST_SUBJECTS.dispatch,
      JSON.stringify({ v: 1, job: { type, dispatch_id: dispatchId } }),
      { headers: h, timeout: 5_000 },
    );
    assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    await waitFor("the job's events", () => seen.some((e) => e.kind === "job_succeeded"));
    await sub.stop();
    // No span was made anywhere: every service forwarded the caller's context as it came (a span, even one
    // sampled out, would have put its own span id in the events).
    assert.deepEqual(
      seen.map((e) => `${e.kind} ${e.traceparent}`).sort(),
      ["dispatch_started", "dispatch_succeeded", "job_started", "job_succeeded"].map(
        (k) => `${k} ${tp("00")}`,
      ),
    );
    assert.equal(tracing.spans().filter((s) => s.attributes["jetbus.dispatch_id"] === dispatchId).length, 0);
  });
});

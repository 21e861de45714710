/**
 * @module
 * A dispatch that the sampler leaves out as a root hands on no trace context: its job (and a chain's next node)
 * carries no `traceparent`, and no worker or coordinator starts a trace of its own for it, so no span at all
 * is made for that work. A caller's own context is handed on even when it is unsampled, so its trace id still
 * reaches the job. One in-process SDK whose root sampler leaves out only the dispatcher's roots (its `send`
 * spans) and would keep any other root: a worker or coordinator that started a trace of its own would show.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Match, type MsgHdrs } from "@nats-io/transport-node";
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { ParentBasedSampler, SamplingDecision, type Sampler } from "@opentelemetry/sdk-trace-base";
import { job, type Bus } from "../../shared/index.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { continuesTrace } from "../../shared/telemetry/spans.ts";
import { CountLatch } from "../../shared/testkit/index.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { startMemoryTracing } from "../helpers/span-tree.ts";
import { ncOf } from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";

const dispatchRootsOut: Sampler = {
  shouldSample: (_ctx, _traceId, name) => ({
    decision: name.startsWith("send ") ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => "dispatch roots out",
};
const tracing = startMemoryTracing({ sampler: new ParentBasedSampler({ root: dispatchRootsOut }) });
let mesh: Mesh;
let bus: Bus;

before(async () => ({ mesh, worker: bus } = await startClientAndWorker()));
after(async () => {
  await mesh?.stop();
  await tracing.shutdown();
});

/** The `traceparent` of each job message published on `type`'s subject ("" for none), `count` of them. */
function jobTraceparents(type: string, count: number): CountLatch<string> {
  const got = new CountLatch<string>(count);
  const sub = ncOf(bus).subscribe(subjects.job("default", type), {
    callback: (_e, m) =>
      got.countDown((m.headers as MsgHdrs | undefined)?.get("traceparent", Match.IgnoreCase) ?? ""),
  });
  void got.wait(15_000, "job messages").finally(() => sub.unsubscribe());
  return got;
}

describe("a root sampled out", () => {
  it("nothing after the dispatcher starts a trace", () => {
    assert.equal(continuesTrace(undefined), false);
    assert.equal(continuesTrace(""), false);
  });

  it("a plain job and a chain's nodes carry no trace context, and no span is made", async () => {
    const type = uniq("unsampled");
    bus.register(type, () => "ok");
    const seen = jobTraceparents(type, 3);
    await ncOf(bus).flush();
    const { dispatchId } = await bus.dispatch(job(type));
    assert.equal((await bus.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    const chainId = await bus.chain(job(type), job(type)).dispatch();
    assert.equal((await bus.wait(chainId, { timeout: 10_000 })).status, "succeeded");
    assert.deepEqual(await seen.wait(10_000, "three job messages"), ["", "", ""]);
    assert.deepEqual(
      tracing.spans().map((s) => s.name),
      [],
      "no span for work whose root was sampled out",
    );
  });

  it("an unsampled caller's context is handed on as it came, and still no span is made", async () => {
    const type = uniq("unsampled-caller");
    bus.register(type, () => "ok");
    const seen = jobTraceparents(type, 1);
    await ncOf(bus).flush();
    const caller = trace.wrapSpanContext({
      traceId: "ab".repeat(16),
      spanId: "cd".repeat(8),
      traceFlags: TraceFlags.NONE,
    });
    const { dispatchId } = await context.with(trace.setSpan(context.active(), caller), () =>
      bus.dispatch(job(type)),
    );
    assert.equal((await bus.wait(dispatchId, { timeout: 10_000 })).status, "succeeded");
    const [tp] = await seen.wait(10_000, "the job message");
    assert.equal(tp?.split("-")[1], "ab".repeat(16), "the caller's trace id");
    assert.equal(tp?.split("-")[3], "00", "not sampled");
    assert.deepEqual(
      tracing.spans().map((s) => s.name),
      [],
    );
  });
});

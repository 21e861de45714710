/**
 * @module
 * Traces across real PROCESSES: dispatcher, coordinator and worker each export with OTLP/HTTP (standard
 * `OTEL_*` variables) to a tiny receiver in this test. A chain's spans from all three services share one trace
 * id and form the expected tree, every parent present; a failing job's JSON log lines carry the trace and span
 * of the attempt they are about; with no `OTEL_EXPORTER_OTLP_PROTOCOL` a service posts protobuf.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { decodeOtlpJson, otelEnv, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts";
import { jsonLines, testBus } from "../helpers/process-kit.ts";
import type { ServiceProcess } from "../helpers/processes.ts";
import { ProcessPool } from "../helpers/processes.ts";
import {
  flattenReceived,
  inTrace,
  n,
  one,
  render,
  treeOf,
  type FlatSpan,
  type Node,
} from "../helpers/span-tree.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("otlp");
const PROTO_Q = uniq("proto");

let server: NatsServer;
let json: OtlpReceiver;
let proto: OtlpReceiver;
let bus: Bus;
let worker: ServiceProcess;
const procs = new ProcessPool(() => server.url);

before(async () => {
  [server, json, proto] = await Promise.all([startNatsServer(), startOtlpReceiver(), startOtlpReceiver()]);
  const env = otelEnv(json.endpoint, "http/json");
  [, , worker] = await Promise.all([
    procs.spawn("dispatcher", env),
    procs.spawn("coordinator", env),
    procs.worker([Q], env),
    // The default protocol: whatever the parent environment says, unset here.
    procs.worker([PROTO_Q], { ...otelEnv(proto.endpoint), OTEL_EXPORTER_OTLP_PROTOCOL: "" }),
  ]);
  bus = await testBus(server.url);
});

after(async () => {
  await bus?.shutdown();
  await procs.killAll();
  await Promise.allSettled([json?.stop(), proto?.stop(), server?.stop()]);
});

const received = (): FlatSpan[] => json.spans.map(flattenReceived);

/** The received spans of the trace holding a span matching `root`, once `done` holds for them. */
function traceWhere(what: string, root: (s: FlatSpan) => boolean, done: (t: FlatSpan[]) => boolean) {
  return waitFor(
    what,
    () => {
      const r = received().find(root);
      const all = r ? inTrace(received(), r.traceId) : [];
      return r && done(all) ? all : null;
    },
    { timeoutMs: 15_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nreceiver errors: ${json.errors.join("; ")}\n${render(received())}`);
  });
}

describe("OTLP export from service processes", () => {
  it("a chain's spans from dispatcher, coordinator and worker form one tree in one trace", async () => {
    const chainId = await bus
      .chain(job("t:echo", { n: 0 }), job("t:echo", { n: 1 }), job("t:echo", { n: 2 }))
      .onQueue(Q)
      .finally(job("t:echo", { fin: true }))
      .dispatch();
    assert.equal((await bus.wait(chainId, { timeout: 20_000 })).status, "succeeded");
    const all = await traceWhere(
      "the chain's 13 spans at the receiver",
      (s) => s.name === "send chain" && s.attributes["jetbus.chain_id"] === chainId,
      (t) => t.length >= 13 && t.some((s) => s.name === "record chain callback"),
    );
    assert.deepEqual(json.errors, []);
    const root = one(all, "send chain", (s) => s.name === "send chain");
    assert.equal(root.parentSpanId, "", "the chain's dispatch is the root");
    const ids = new Set(all.map((s) => s.spanId));
    for (const s of all) if (s !== root) assert.ok(ids.has(s.parentSpanId), `parent of ${s.name} is missing`);

    const d = "jobs." + Q + ".t:echo";
    const svc = (name: string, kind: string, service: string, children: Node[] = []) =>
      n(name, kind, children, { service: `jetbus-${service}` });
    // Node 0 is published by the dispatcher (it writes the chain), later nodes and finally by the coordinator.
    const step = (sender: string, next: Node[]) =>
      svc(`send ${d}`, "PRODUCER", sender, [svc(`process ${d}`, "CONSUMER", "worker", next)]);
    const advance = (next: Node[]) => svc("advance chain", "INTERNAL", "coordinator", next);
    assert.deepEqual(
      treeOf(all, root, { service: true }),
      svc("send chain", "PRODUCER", "dispatcher", [
        step("dispatcher", [
          advance([
            step("coordinator", [
              advance([
                step("coordinator", [
                  advance([step("coordinator", [svc("record chain callback", "INTERNAL", "coordinator")])]),
                ]),
              ]),
            ]),
          ]),
        ]),
      ]),
      render(all),
    );
    assert.equal(all.length, 13, render(all));
    for (const s of all) {
      assert.equal(s.attributes["messaging.message.conversation_id"], chainId, `${s.name} conversation id`);
      if (s.kind !== "INTERNAL") assert.equal(s.attributes["messaging.system"], "nats");
    }
  });

  it("a failing job's log lines carry the trace and span of their attempt", async () => {
    const { dispatchId } = await bus.dispatch(job("t:fail", { why: "log" }).onQueue(Q).retry(1));
    const outcome = await bus.wait(dispatchId, { timeout: 20_000 });
    assert.equal(outcome.status, "failed");
    const all = await traceWhere(
      "the failing job's spans",
      (s) => s.kind === "PRODUCER" && s.attributes["jetbus.dispatch_id"] === dispatchId,
      (t) => t.filter((s) => s.kind === "CONSUMER").length >= 2,
    );
    const send = one(all, "send", (s) => s.kind === "PRODUCER");
    const attempt = (a: number) =>
      one(all, `attempt ${a}`, (s) => s.kind === "CONSUMER" && s.attributes["jetbus.attempt"] === a);
    for (const a of [0, 1]) {
      assert.equal(attempt(a).parentSpanId, send.spanId);
      assert.equal(attempt(a).status, "ERROR");
      assert.equal(attempt(a).service, "jetbus-worker");
    }

    const lines = await waitFor("the worker's failure log lines", () => {
      const mine = jsonLines(worker).filter((l) => l.dispatch_id === dispatchId);
      const retrying = mine.find((l) => l.msg === "job failed: retrying");
      const spent = mine.find((l) => l.msg === "job failed: retries spent");
      return retrying && spent ? { retrying, spent } : null;
    });
    for (const [line, a] of [
      [lines.retrying, 0],
      [lines.spent, 1],
    ] as const) {
      assert.equal(line.trace_id, send.traceId, `trace_id of ${String(line.msg)}`);
      assert.equal(line.span_id, attempt(a).spanId, `span_id of ${String(line.msg)}`);
      assert.equal(line.type, "t:fail");
      assert.equal(line.attempt, a);
      assert.equal(line.level, a === 0 ? "info" : "warn");
      assert.equal(line.service, "worker");
    }
  });

  it("with OTEL_EXPORTER_OTLP_PROTOCOL unset, a service posts protobuf", async () => {
    const { dispatchId } = await bus.dispatch(job("t:echo", { proto: true }).onQueue(PROTO_Q));
    assert.equal((await bus.wait(dispatchId, { timeout: 20_000 })).status, "succeeded");
    const post = await waitFor("a protobuf POST at the default-protocol receiver", () =>
      proto.requests.find((r) => r.path === "/v1/traces"),
    );
    assert.equal(post.contentType, "application/x-protobuf");
    assert.ok(post.bytes > 0);
    assert.ok(
      proto.requests.every((r) => !r.contentType.includes("json")),
      "no JSON at the default receiver",
    );
  });
});

describe("the test receiver", () => {
  it("decodes OTLP/JSON ids written as hex or as base64 alike", () => {
    const trace = "5b8efff798038103d269b633813fc60c";
    const span = "eee19b7ec3c1b174";
    const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
    const body = (t: string, s: string, p: string) => ({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: t,
                  spanId: s,
                  parentSpanId: p,
                  name: "x",
                  kind: 4,
                  attributes: [{ key: "jetbus.attempt", value: { intValue: "2" } }],
                },
              ],
            },
          ],
        },
      ],
    });
    const hex = decodeOtlpJson(body(trace, span, span));
    assert.deepEqual(decodeOtlpJson(body(b64(trace), b64(span), b64(span))), hex);
    assert.deepEqual(
      { ...hex[0], links: undefined },
      {
        service: "svc",
        traceId: trace,
        spanId: span,
        parentSpanId: span,
        name: "x",
        kind: "PRODUCER",
        attributes: { "jetbus.attempt": 2 },
        links: undefined,
        status: 0,
      },
    );
  });
});

/**
 * @module
 * Traces join across languages: the TypeScript dispatcher (a process exporting OTLP/HTTP JSON) makes the job's
 * send span; the Python worker makes its attempt span from the `traceparent` it received and exports it as
 * OTLP/HTTP JSON written by hand. The receiver holds both under one trace id, the attempt a child of the send.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { job, type Bus } from "../../shared/index.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { otelEnv, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts";
import { testBus } from "../helpers/process-kit.ts";
import { ProcessPool } from "../helpers/processes.ts";
import { EXAMPLES, missingTools, POLYGLOT_ENV, startForeign, type Foreign } from "../helpers/polyglot.ts";

const skip = missingTools([["python3", ["--version"]]]);
if (skip) console.log(`# skipping the cross-language trace test: ${skip}`);

describe("a trace across TypeScript and Python", { skip: skip ?? false }, () => {
  let server: NatsServer;
  let receiver: OtlpReceiver;
  let bus: Bus;
  let worker: Foreign;
  const procs = new ProcessPool(() => server.url);

  before(async () => {
    [server, receiver] = await Promise.all([startNatsServer(), startOtlpReceiver()]);
    const env = { ...POLYGLOT_ENV, ...otelEnv(receiver.endpoint, "http/json") };
    await Promise.all([procs.spawn("dispatcher", env), procs.spawn("coordinator", env)]);
    worker = startForeign("python3", [join(EXAMPLES, "python/example.py"), "worker", "--type", "py:traced"], {
      NATS_URL: server.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "python-worker",
    });
    await worker.waitForLine(/ready on default\/py:traced/);
    bus = await testBus(server.url, POLYGLOT_ENV);
  });

  after(async () => {
    await bus?.shutdown();
    await worker?.stop();
    await procs.killAll();
    await Promise.allSettled([receiver?.stop(), server?.stop()]);
  });

  it("puts the Python worker's attempt span under the dispatcher's send span, in the same trace", async () => {
    const { dispatchId } = await bus.dispatch(job("py:traced", { hello: "python" }));
    assert.deepEqual((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
    const [send, attempt] = await waitFor(
      "the dispatcher's send span and the Python worker's attempt span",
      () => {
        const s = receiver.spans.find(
          (x) => x.kind === "PRODUCER" && x.attributes["jetbus.dispatch_id"] === dispatchId,
        );
        const a = receiver.spans.find(
          (x) => x.service === "python-worker" && x.attributes["jetbus.dispatch_id"] === dispatchId,
        );
        return s && a ? ([s, a] as const) : null;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(send.service, "jetbus-dispatcher");
    assert.equal(attempt.traceId, send.traceId, "one trace");
    assert.equal(attempt.parentSpanId, send.spanId, "the attempt is a child of the send");
    assert.equal(attempt.kind, "CONSUMER");
    assert.equal(attempt.attributes["messaging.system"], "nats");
    assert.equal(attempt.attributes["jetbus.attempt"], 0);
    assert.deepEqual(receiver.errors, []);
  });
});

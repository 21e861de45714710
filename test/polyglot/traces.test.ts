/**
 * @module
 * Traces join across languages: the TypeScript dispatcher (a process exporting OTLP/HTTP JSON) makes the job's
 * send span; the Python and the Go worker each make their attempt span from the `traceparent` they received and
 * export it as OTLP/HTTP JSON written by hand. The receiver holds both under one trace id, the attempt a child
 * of the send.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { otelEnv, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts";
import { testBus } from "../helpers/process-kit.ts";
import { ProcessPool } from "../helpers/processes.ts";
import { GO, PYTHON } from "../helpers/polyglot-builds.ts";
import { POLYGLOT_ENV, startForeign, type Foreign } from "../helpers/polyglot.ts";

const WORKERS = [
  {
    lang: "Python",
    type: "py:traced",
    skip: PYTHON.skip,
    command: (): [string, string[]] => ["python3", [PYTHON.script]],
  },
  { lang: "Go", type: "go:traced", skip: GO.skip, command: (): [string, string[]] => [GO.build(), []] },
];

describe("a trace across TypeScript, Python and Go", () => {
  let server: NatsServer;
  let receiver: OtlpReceiver;
  let bus: Bus;
  const workers: Foreign[] = [];
  const procs = new ProcessPool(() => server.url);

  before(async () => {
    [server, receiver] = await Promise.all([startNatsServer(), startOtlpReceiver()]);
    const env = { ...POLYGLOT_ENV, ...otelEnv(receiver.endpoint, "http/json") };
    await Promise.all([procs.spawn("dispatcher", env), procs.spawn("coordinator", env)]);
    for (const w of WORKERS.filter((x) => !x.skip)) {
      const [cmd, prefix] = w.command();
      const f = startForeign(cmd, [...prefix, "worker", "--type", w.type], {
        NATS_URL: server.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: `${w.lang.toLowerCase()}-worker`,
      });
      workers.push(f);
      await f.waitForLine(new RegExp(`ready on default/${w.type}`));
    }
    bus = await testBus(server.url, POLYGLOT_ENV);
  });

  after(async () => {
    await bus?.shutdown();
    await Promise.all(workers.map((w) => w.stop()));
    await procs.killAll();
    await Promise.allSettled([receiver?.stop(), server?.stop()]);
  });

  for (const w of WORKERS) {
    it(
      `puts the ${w.lang} worker's attempt span under the dispatcher's send span, in the same trace`,
      { skip: w.skip ?? false },
      async () => {
        const { dispatchId } = await bus.dispatch(job(w.type, { hello: w.lang }));
        assert.equal((await bus.wait(dispatchId, { timeout: 15_000 })).status, "succeeded");
        const service = `${w.lang.toLowerCase()}-worker`;
        const [send, attempt] = await waitFor(
          `the dispatcher's send span and the ${w.lang} worker's attempt span`,
          () => {
            const ofJob = receiver.spans.filter((x) => x.attributes["jetbus.dispatch_id"] === dispatchId);
            const s = ofJob.find((x) => x.kind === "PRODUCER");
            const a = ofJob.find((x) => x.service === service);
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
      },
    );
  }
});

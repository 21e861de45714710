/**
 * @module
 * The conformance kit fails workers that break the protocol, by rule name: one that acks before its outcome
 * is stored, one that numbers attempts without counting redeliveries (both the Python reference worker with
 * one fault, test/fixtures/broken_worker.py). The `jetbus conformance` command exits 1 and prints the rule.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { formatReport, runConformance } from "../../cli/conformance/run.ts";
import { runCli } from "../helpers/cli.ts";
import { PYTHON } from "../helpers/polyglot-builds.ts";
import {
  ACK_WAIT_MS,
  POLYGLOT_ENV,
  ROOT,
  startForeign,
  startPolyglotMesh,
  type Foreign,
  type PolyglotMesh,
} from "../helpers/polyglot.ts";

const BROKEN = join(ROOT, "test/fixtures/broken_worker.py");
const skip = PYTHON.skip;
if (skip) console.log(`# skipping the conformance kit's own test: ${skip}`);

describe("jetbus conformance against broken workers", { skip: skip ?? false, concurrency: true }, () => {
  let pm: PolyglotMesh;
  const workers: Foreign[] = [];

  before(async () => {
    pm = await startPolyglotMesh();
    for (const [fault, type] of [
      ["ack-early", "broken:ack"],
      ["attempts", "broken:attempts"],
    ] as const) {
      const w = startForeign("python3", [BROKEN, fault, "worker", "--type", type], { NATS_URL: pm.mesh.url });
      workers.push(w);
      await w.waitForLine(new RegExp(`ready on default/${type}`));
    }
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await pm?.stop();
  });

  const failing = (stdout: string) => [...stdout.matchAll(/^FAIL +(\S+)/gm)].map((m) => m[1]);

  it("names the rules a worker that acks before its outcome is stored breaks, and exits 1", async () => {
    const r = await runCli(["conformance", "--queue", "default", "--type", "broken:ack"], pm.mesh.url, {
      env: POLYGLOT_ENV,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(failing(r.stdout), ["ack-after-stored"], r.stdout);
    assert.match(r.stdout, /acked before jetbus\.outcomes\.\S+ was even published/);
    assert.match(r.stdout, /^19 of 20 rules passed/m);
  });

  it("names the rules a worker that miscounts attempts breaks", async () => {
    const nc = await connect({ servers: pm.mesh.url, noAsyncTraces: true });
    try {
      // The abandoned jobs come back as attempt 0 and are abandoned again: they never end, so do not wait long.
      const report = await runConformance({
        nc,
        queue: "default",
        type: "broken:attempts",
        ackWaitMs: ACK_WAIT_MS,
        timeoutMs: 12_000,
      });
      const failed = report.results.filter((x) => x.problems.length > 0).map((x) => x.rule);
      assert.deepEqual(failed.sort(), ["redelivery", "settled", "worker-died"], formatReport(report));
      assert.equal(report.passed, false);
    } finally {
      await nc.close();
    }
  });
});

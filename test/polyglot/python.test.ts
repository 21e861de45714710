/**
 * @module
 * The Python reference client (examples/python, standard library only) against a real mesh: its worker passes
 * `jetbus conformance`, it dispatches a job, a chain and a batch whose other jobs run on TypeScript workers,
 * and it serves a node of that chain.
 */
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import {
  assertConforms,
  assertDispatchDemo,
  collectEvents,
  EXAMPLES,
  missingTools,
  runForeign,
  startForeign,
  startPolyglotMesh,
  type Foreign,
  type PolyglotMesh,
} from "../helpers/polyglot.ts";

const DIR = join(EXAMPLES, "python");
const skip = missingTools([["python3", ["--version"]]]);
if (skip) console.log(`# skipping the Python client: ${skip}`);

describe("the Python client", { skip: skip ?? false }, () => {
  let pm: PolyglotMesh;
  let worker: Foreign;

  before(async () => {
    pm = await startPolyglotMesh();
    worker = startForeign("python3", [join(DIR, "example.py"), "worker", "--type", "py:step"], {
      NATS_URL: pm.mesh.url,
    });
    await worker.waitForLine(/ready on default\/py:step/);
  });

  after(async () => {
    await worker?.stop();
    await pm?.stop();
  });

  it("passes jetbus conformance", async () => {
    await assertConforms(pm.mesh.url, "default", "py:step");
  });

  it("dispatches a job, a chain and a batch with callbacks, and serves a node of the chain", async () => {
    const seen = await collectEvents(pm.client);
    const lines = await runForeign("python3", [join(DIR, "example.py"), "dispatch", "--foreign", "py:step"], {
      NATS_URL: pm.mesh.url,
    });
    await assertDispatchDemo(pm, lines, "py:step", seen.events);
    await seen.stop();
  });
});

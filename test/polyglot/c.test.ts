/**
 * @module
 * The C client (examples/c: libnats 3.4.1 and jansson from Debian, built with pkg-config) against a real mesh:
 * its worker passes `jetbus conformance`, it dispatches a job, a chain and a batch whose other jobs run on
 * TypeScript workers, and it serves a node of that chain.
 */
import { after, before, describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertConforms,
  assertDispatchDemo,
  buildDir,
  collectEvents,
  EXAMPLES,
  missingTools,
  runForeign,
  startForeign,
  startPolyglotMesh,
  type Foreign,
  type PolyglotMesh,
} from "../helpers/polyglot.ts";

const SRC = join(EXAMPLES, "c");
const PKGS = ["libnats", "jansson", "libcrypto"];
const skip = missingTools([
  ["cc", ["--version"]],
  ["pkg-config", ["--exists", ...PKGS]],
]);
if (skip)
  console.log(
    `# skipping the C client (apt-get install libnats-dev libjansson-dev libssl-dev pkg-config): ${skip}`,
  );

/** Compiled once per source version (the build folder is named by the sources' hash). */
function build(): string {
  const { dir, fresh } = buildDir("c", SRC);
  const bin = join(dir, "jetbus-example");
  if (fresh) {
    const flags = spawnSync("pkg-config", ["--cflags", "--libs", ...PKGS], { encoding: "utf8" })
      .stdout.trim()
      .split(/\s+/);
    const sources = readdirSync(SRC)
      .filter((f) => f.endsWith(".c"))
      .map((f) => join(SRC, f));
    const r = spawnSync("cc", ["-O2", "-Wall", "-Werror", "-o", bin, ...sources, ...flags, "-lpthread"], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`cc failed:\n${r.stderr}`);
    writeFileSync(join(dir, ".built"), "");
  }
  return bin;
}

describe("the C client", { skip: skip ?? false }, () => {
  let pm: PolyglotMesh;
  let worker: Foreign;
  let bin: string;

  before(async () => {
    bin = build();
    pm = await startPolyglotMesh();
    worker = startForeign(bin, ["worker", "--type", "c:step"], { NATS_URL: pm.mesh.url });
    await worker.waitForLine(/ready on default\/c:step/);
  });

  after(async () => {
    await worker?.stop();
    await pm?.stop();
  });

  it("passes jetbus conformance", async () => {
    await assertConforms(pm.mesh.url, "default", "c:step");
  });

  it("dispatches a job, a chain and a batch with callbacks, and serves a node of the chain", async () => {
    const seen = await collectEvents(pm.client);
    const lines = await runForeign(bin, ["dispatch", "--foreign", "c:step"], { NATS_URL: pm.mesh.url });
    await assertDispatchDemo(pm, lines, "c:step", seen.events);
    await seen.stop();
  });
});

/**
 * @module
 * The Go client (examples/go: nats.go 1.22.1's older JetStream API, built offline in GOPATH mode against
 * Debian's Go source tree) against a real mesh: its worker passes `jetbus conformance`, it dispatches a job, a
 * chain and a batch whose other jobs run on TypeScript workers, and it serves a node of that chain.
 */
import { after, before, describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertConforms,
  assertDispatchDemo,
  buildDir,
  collectEvents,
  EXAMPLES,
  missingTools,
  ROOT,
  runForeign,
  startForeign,
  startPolyglotMesh,
  type Foreign,
  type PolyglotMesh,
} from "../helpers/polyglot.ts";

const GO_ENV = {
  GO111MODULE: "off",
  GOPATH: "/usr/share/gocode",
  GOCACHE: join(tmpdir(), "jetbus-gocache"),
  GOFLAGS: "",
};
const skip = missingTools([
  ["go", ["version"]],
  ["test", ["-d", "/usr/share/gocode/src/github.com/nats-io/nats.go"]],
]);
if (skip)
  console.log(
    `# skipping the Go client (apt-get install golang-go golang-github-nats-io-go-nats-dev): ${skip}`,
  );

/** Compiled once per source version (the build folder is named by the sources' hash). */
function build(): string {
  const { dir, fresh } = buildDir("go", join(EXAMPLES, "go"));
  const bin = join(dir, "jetbus-example");
  if (fresh) {
    const r = spawnSync("go", ["build", "-o", bin, "./examples/go"], {
      cwd: ROOT,
      env: { ...process.env, ...GO_ENV },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`go build failed:\n${r.stderr}`);
    writeFileSync(join(dir, ".built"), "");
  }
  return bin;
}

describe("the Go client", { skip: skip ?? false }, () => {
  let pm: PolyglotMesh;
  let worker: Foreign;
  let bin: string;

  before(async () => {
    bin = build();
    pm = await startPolyglotMesh();
    worker = startForeign(bin, ["worker", "--type", "go:step"], { NATS_URL: pm.mesh.url });
    await worker.waitForLine(/ready on default\/go:step/);
  });

  after(async () => {
    await worker?.stop();
    await pm?.stop();
  });

  it("passes jetbus conformance", async () => {
    await assertConforms(pm.mesh.url, "default", "go:step");
  });

  it("dispatches a job, a chain and a batch with callbacks, and serves a node of the chain", async () => {
    const seen = await collectEvents(pm.client);
    const lines = await runForeign(bin, ["dispatch", "--foreign", "go:step"], { NATS_URL: pm.mesh.url });
    await assertDispatchDemo(pm, lines, "go:step", seen.events);
    await seen.stop();
  });
});

/**
 * @module
 * `scripts/fetch-nats-server.sh` where it cannot work: without apt it exits 1 with a clear reason and the other
 * ways to get a server, and changes nothing (no `.jetbus` folder appears). Fetching itself needs the Debian
 * mirror, so it is exercised by `.ci/run` and the test command, not here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FETCH_NATS_SERVER_SCRIPT } from "../../shared/testkit/index.ts";

const dir = mkdtempSync(join(tmpdir(), "jetbus-fetch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

void test("without apt it refuses, names what is missing and the other ways, and writes nothing", () => {
  // A copy of the script in a project of its own, run with a PATH that has the shell tools but no apt.
  mkdirSync(join(dir, "scripts"));
  cpSync(FETCH_NATS_SERVER_SCRIPT, join(dir, "scripts", "fetch-nats-server.sh"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["dirname", "awk", "sed", "grep"]) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  const r = spawnSync("/bin/bash", [join(dir, "scripts", "fetch-nats-server.sh")], {
    encoding: "utf8",
    env: { PATH: bin },
    timeout: 10_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /needs apt-get \(a Debian-based system\)/);
  assert.match(r.stderr, /brew install nats-server/);
  assert.match(r.stderr, /nats:2\.15-alpine/);
  assert.equal(existsSync(join(dir, ".jetbus")), false);
});

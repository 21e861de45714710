/**
 * @module
 * How the test kit picks its nats-server: `.jetbus/bin` before PATH before the usual install locations, older
 * servers than the 2.12 floor skipped (and named in the error), each binary asked for its version once, and a
 * missing one answered with the ways to get one. Fake executables print what a real `--version` prints.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import {
  findNatsServerBinary,
  natsServerVersion,
  NatsServerNotFoundError,
  searchNatsServer,
  startNatsServer,
} from "../../shared/testkit/index.ts";

const root = mkdtempSync(join(tmpdir(), "jetbus-binary-"));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A folder holding a fake `nats-server` that reports `version` and counts how often it was asked. */
function fakeServer(version: string, sub = ""): { dir: string; path: string; calls(): number } {
  const dir = join(root, `d${++dirs}`, sub);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "nats-server");
  const counter = join(dir, "calls");
  writeFileSync(counter, "");
  writeFileSync(path, `#!/bin/sh\necho x >> "${counter}"\necho "nats-server: v${version}"\n`, {
    mode: 0o755,
  });
  return { dir, path, calls: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length };
}

const onPath = (...ds: string[]) => ({ PATH: ["/nonexistent", ...ds].join(delimiter) });

void test("PATH is searched before the usual install locations", () => {
  const current = fakeServer("2.15.1");
  assert.equal(findNatsServerBinary(onPath(current.dir), []), current.path);
});

void test("a server older than 2.12 on PATH is skipped for a current one behind it, and named", () => {
  const old = fakeServer("2.9.10");
  const rc = fakeServer("2.12.0-RC.1");
  const current = fakeServer("2.12.0");
  const search = searchNatsServer(onPath(old.dir, rc.dir, current.dir), []);
  assert.deepEqual(search.found, { path: current.path, version: "2.12.0" });
  assert.deepEqual(search.skipped.slice(0, 2), [
    { path: old.path, version: "2.9.10" },
    { path: rc.path, version: "2.12.0-RC.1" },
  ]);
});

void test(".jetbus/bin of the project comes before PATH", () => {
  const fetched = fakeServer("2.15.1", ".jetbus/bin");
  const project = join(fetched.dir, "../..");
  const other = fakeServer("2.16.0");
  assert.equal(findNatsServerBinary(onPath(other.dir), [project]), fetched.path);
});

void test("each binary is asked for its version once, and again only after it changed", () => {
  const s = fakeServer("2.15.1");
  assert.equal(natsServerVersion(s.path), "2.15.1");
  assert.equal(natsServerVersion(s.path), "2.15.1");
  findNatsServerBinary(onPath(s.dir), []);
  assert.equal(s.calls(), 1);
  // A re-fetch replaces the file: the new version is read, not the cached one.
  const text = readFileSync(s.path, "utf8").replace("v2.15.1", "v2.16.0") + "# changed\n";
  writeFileSync(s.path, text, { mode: 0o755 });
  assert.equal(natsServerVersion(s.path), "2.16.0");
  assert.equal(s.calls(), 2);
});

void test("a binary that prints no version is skipped, not trusted", () => {
  const dir = join(root, "silent");
  mkdirSync(dir);
  writeFileSync(join(dir, "nats-server"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
  const search = searchNatsServer(onPath(dir), []);
  assert.deepEqual(search.skipped[0], { path: join(dir, "nats-server"), version: null });
});

void test("nothing current: the error names what was skipped and why, and every way to get one", () => {
  const err = new NatsServerNotFoundError(
    ["/p/.jetbus/bin/nats-server", "PATH", "/usr/sbin/nats-server"],
    [
      { path: "/usr/sbin/nats-server", version: "2.9.10" },
      { path: "/opt/nats-server", version: null },
    ],
  );
  assert.equal(err.code, "NATS_SERVER_NOT_FOUND");
  assert.match(
    err.message,
    /no nats-server 2\.12 or newer was found \(looked in \/p\/\.jetbus\/bin\/nats-server, PATH/,
  );
  assert.match(err.message, /skipped \/usr\/sbin\/nats-server: v2\.9\.10 is older than 2\.12/);
  assert.match(err.message, /skipped \/opt\/nats-server: `--version` gave no version/);
  assert.match(err.message, /scripts\/fetch-nats-server\.sh/);
  assert.match(err.message, /brew install nats-server/);
  assert.match(err.message, /nats:2\.15-alpine/);
  assert.match(err.message, /too old on Debian stable/);
});

void test("an explicit binary that does not exist is refused with the same instructions", async () => {
  await assert.rejects(startNatsServer({ binary: "/nonexistent/nats-server" }), (err: unknown) => {
    assert.ok(err instanceof NatsServerNotFoundError);
    assert.match(err.message, /\/nonexistent\/nats-server/);
    assert.match(err.message, /brew install nats-server/);
    return true;
  });
});

void test("in this checkout the kit finds a current server", () => {
  const search = searchNatsServer();
  assert.ok(search.found, JSON.stringify(search));
  assert.ok(!search.skipped.some((s) => s.path === search.found!.path));
});

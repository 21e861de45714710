/**
 * @module
 * `npm start` (`jetbus dev`) as a user runs it: no NATS_URL, so it starts its own nats-server, then the three
 * services and the demo; Ctrl-C (SIGINT to the runner) drains every service and stops the server.
 */
import { after, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { waitFor, withTimeout } from "../../shared/testkit/index.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "jetbus-dev-"));
let runner: ChildProcess | null = null;

after(async () => {
  if (runner && runner.exitCode === null) {
    process.kill(-runner.pid!, "SIGINT"); // the runner stops its services and server
    await withTimeout(new Promise((r) => runner!.once("exit", r)), 30_000, "the dev runner to exit").catch(
      () => runner!.kill("SIGKILL"),
    );
  }
  rmSync(dir, { recursive: true, force: true });
});

it("runs the demo on its own nats-server and stops everything cleanly on Ctrl-C", async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, JETBUS_DEV_DIR: dir, LOG_LEVEL: "info" };
  delete env.NATS_URL;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // A process group of its own, as in a terminal: Ctrl-C is SIGINT to the whole foreground group.
  const proc = spawn(process.execPath, [resolve(root, "bin/jetbus.mjs"), "dev"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  runner = proc;
  const lines: string[] = [];
  for (const s of [proc.stdout, proc.stderr])
    s.on("data", (b: Buffer) => lines.push(...String(b).split("\n")));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const output = () => lines.join("\n");

  await waitFor("the demo to finish", () => output().includes("The mesh keeps running"), {
    timeoutMs: 90_000,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${output()}`);
  });
  const out = output();
  const url = /nats-server with JetStream on (\S+)/.exec(out)?.[1];
  assert.ok(url, out);
  assert.ok(out.includes(`(data in ${join(dir, "nats")})`), "the data dir given by JETBUS_DEV_DIR");
  for (const expected of [
    /→ hello: succeeded after 1 attempt/,
    /→ flaky: succeeded after 3 attempt/,
    /→ fail: failed after 1 attempt/,
    /→ delayed: succeeded/,
    /→ chain chn_\w+: completed=true steps=3\/3/,
    /→ batch bat_\w+: processed 20\/20, failed 0, cancelled false/,
  ])
    assert.match(out, expected);
  const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+\/)\s+\(operator dev, token \S+\)/.exec(out)?.[1];
  assert.ok(consoleUrl, "the console's URL and its dev operator are printed");
  const session = (await (await fetch(`${consoleUrl}api/session`)).json()) as { readOnly: boolean };
  assert.equal(session.readOnly, false);
  const long = lines.filter((l) => l.length > 250);
  assert.deepEqual(long, [], "no line longer than a screen line");

  process.kill(-proc.pid!, "SIGINT");
  assert.equal(await withTimeout(exited, 30_000, "the dev runner to exit"), 0, output());
  const end = output();
  for (const name of ["dispatcher", "coordinator", "worker", "console"])
    assert.match(end, new RegExp(`\\[${name}\\] info\\s+${name} stopped`), `${name} drained and stopped`);
  assert.doesNotMatch(end, /second signal/, "one signal per service: a drain, not an abrupt exit");
  await assert.rejects(
    connect({ servers: url, reconnect: false, timeout: 1_000 }),
    "its nats-server is stopped too",
  );
});

/**
 * @module
 * The CLI's script commands against a real mesh: `jetbus dispatch --wait`, `jetbus events --id`, and
 * `jetbus dlq replay|discard --filter` (the console's filter: it states the count, wants --yes without a
 * terminal, and acts on what it counted).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { runCli } from "../helpers/cli.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let client: Bus;
const T = uniq("cli");
const ok = `${T}:ok`;
const doomed = `${T}:doomed`;

before(async () => {
  mesh = await startMesh();
  client = await mesh.bus();
  const worker = await mesh.bus();
  worker.register(ok, (ctx) => ({ echo: ctx.bind<unknown>() }));
  worker.register(doomed, () => {
    throw new Error("doomed");
  });
  await worker.startWorkers();
});
after(async () => mesh?.stop());

it("dispatch --wait prints the outcome; events --id prints that dispatch's events", async () => {
  const r = await runCli(["dispatch", ok, "--payload", '{"n":1}', "--wait"], mesh.url);
  assert.equal(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout) as { dispatchId: string; status: string; result: unknown };
  assert.deepEqual([line.status, line.result], ["succeeded", { echo: { n: 1 } }]);
  const bad = await runCli(["dispatch", ok, "--payload", "{nope"], mesh.url);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--payload is not JSON/);
  const bogus = await runCli(["events", "--kind", "bogus"], mesh.url);
  assert.equal(bogus.code, 1);
  assert.match(bogus.stderr, /--kind: "bogus" is not an event kind/);
  const ev = await runCli(["events", "--id", line.dispatchId, "--kind", "job_succeeded"], mesh.url);
  assert.equal(ev.code, 0, ev.stderr);
  const events = ev.stdout.split("\n").map((l) => JSON.parse(l) as { kind: string; dispatchId: string });
  assert.deepEqual(
    events.map((e) => [e.kind, e.dispatchId]),
    [["job_succeeded", line.dispatchId]],
  );
});

it("dlq replay|discard --filter: states the count, needs --yes without a terminal, acts on that set", async () => {
  for (const i of [1, 2]) {
    const { dispatchId } = await client.dispatch(job(doomed, { i }));
    await client.wait(dispatchId, { timeout: 10_000 });
  }
  const filter = `type=${doomed},reason=exhausted`;
  const ask = await runCli(["dlq", "discard", "--filter", filter], mesh.url);
  assert.equal(ask.code, 2);
  assert.match(
    ask.stderr,
    /^discard 2 dead letter\(s\) matching type=\S+ reason=exhausted\? Run again with --yes/,
  );
  const badFilter = await runCli(["dlq", "replay", "--filter", "reason=bored"], mesh.url);
  assert.equal(badFilter.code, 1);
  assert.match(badFilter.stderr, /--filter: reason="bored" is not one of/);
  const done = await runCli(["dlq", "discard", "--filter", filter, "--yes"], mesh.url);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /discarded 2 of 2 dead letter/);
  assert.equal((await client.deadLetters.count({ type: doomed })).count, 0);
});

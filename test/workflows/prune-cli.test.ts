/**
 * @module
 * Prune (API and `jetbus prune --before`) removes finished chains and batches and keeps running ones; the CLI
 * shows a batch (`jetbus batch <id>`, and `--watch` until it ends) and a chain's steps (`jetbus chain <id>`).
 * The tests run in order: the prune counts are exact because nothing else lives on this file's server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, NotFoundError, PermanentError, type Bus } from "../../shared/index.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { runCli, startCli } from "../helpers/cli.ts";
import {
  ncOf,
  outcomesSettled,
  queueSettled,
  waitBatch,
  waitChain,
  workflowSettled,
} from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();
const t = { ok: uniq("pr-ok"), bad: uniq("pr-bad"), fin: uniq("pr-fin"), idle: uniq("pr-idle") };

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus();
  bus.register(t.ok, runs.handler());
  bus.register(t.fin, runs.handler());
  bus.register(
    t.bad,
    runs.handler(() => {
      throw new PermanentError("broken on purpose");
    }),
  );
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

async function settle(kind: "chain" | "batch", id: string): Promise<void> {
  await workflowSettled(ncOf(bus), kind, id);
}

const inAMinute = () => new Date(Date.now() + 60_000);

describe("prune and the CLI", () => {
  let running: string;

  it("bus.prune removes completed and failed chains and batches, keeps a running one, returns the count", async () => {
    const doneChain = await bus.chain(job(t.ok), job(t.ok)).finally(job(t.fin)).dispatch();
    const failedChain = await bus.chain(job(t.bad)).finally(job(t.fin)).dispatch();
    const doneBatch = await bus.batch(job(t.ok), job(t.ok)).finally(job(t.fin)).dispatch();
    const failedBatch = await bus.batch(job(t.bad), job(t.ok)).finally(job(t.fin)).dispatch();
    running = await bus.chain(job(t.ok), job(t.idle)).dispatch(); // nobody serves t.idle
    await settle("chain", doneChain);
    await settle("chain", failedChain);
    await settle("batch", doneBatch);
    await settle("batch", failedBatch);
    await waitChain(bus, running, (c) => c.nextIndex === 1);
    await runs.waitCount(t.fin, 4);
    await queueSettled(ncOf(bus), t.fin);
    await outcomesSettled(ncOf(bus));
    assert.equal((await bus.findChain(failedChain)).failed, true);
    assert.equal((await bus.findBatch(failedBatch)).cancelled, true);

    assert.equal(await bus.prune(new Date(Date.now() - 60_000)), 0, "nothing finished before a minute ago");
    assert.equal((await bus.findChain(doneChain)).completed, true);

    assert.equal(await bus.prune(inAMinute()), 4);
    await assert.rejects(bus.findChain(doneChain), NotFoundError);
    await assert.rejects(bus.findChain(failedChain), NotFoundError);
    await assert.rejects(bus.findBatch(doneBatch), NotFoundError);
    await assert.rejects(bus.findBatch(failedBatch), NotFoundError);
    const still = await bus.findChain(running);
    assert.deepEqual([still.completed, still.failed, still.nextIndex], [false, false, 1]);
    assert.equal(await bus.prune(inAMinute()), 0, "a second prune finds nothing");
  });

  it("jetbus prune --before <iso> does the same from the command line", async () => {
    const doneBatch = await bus.batch(job(t.ok)).dispatch();
    const doneChain = await bus.chain(job(t.ok)).dispatch();
    await settle("batch", doneBatch);
    await settle("chain", doneChain);
    await outcomesSettled(ncOf(bus));
    const r = await runCli(["prune", "--before", inAMinute().toISOString()], mesh.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pruned 2 finished workflow\(s\) last changed before \d{4}-\d\d-\d\dT/);
    await assert.rejects(bus.findBatch(doneBatch), NotFoundError);
    await assert.rejects(bus.findChain(doneChain), NotFoundError);
    assert.equal((await bus.findChain(running)).completed, false, "the running chain is kept");
    const bad = await runCli(["prune", "--before", "not a date"], mesh.url);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /usage: jetbus prune --before/);
  });

  it("jetbus batch <id> prints the state; an unknown id is an error", async () => {
    const id = await bus.batch(job(t.ok), job(t.ok), job(t.bad)).name("cli-batch").allowFailures().dispatch();
    await waitBatch(bus, id, (b) => b.completed);
    const r = await runCli(["batch", id], mesh.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`batch\\s+${id} \\(cli-batch\\)`));
    assert.match(r.stdout, /state\s+completed/);
    assert.match(r.stdout, /total\s+3\s+pending 0\s+processed 3\s+failed 1/);
    assert.match(r.stdout, /failure\s+PERMANENT: broken on purpose/);
    const missing = await runCli(["batch", "bat_missing"], mesh.url);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /batch bat_missing not found/);
  });

  it("jetbus batch <id> --watch prints progress and exits when the batch ends", async () => {
    const gated = uniq("pr-gated");
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    bus.register(gated, async () => {
      await gate;
    });
    const id = await bus.batch(job(gated), job(gated), job(t.ok)).dispatch();
    await waitBatch(bus, id, (b) => b.processed === 1);
    const watch = startCli(["batch", id, "--watch"], mesh.url);
    try {
      await watch.waitForOutput(/\] 1\/3 \(33%\) failed 0\s+running/);
      open();
      const code = await watch.exited;
      assert.equal(code, 0, watch.stderr.join("\n"));
      const bars = watch.stdout.filter((l) => l.startsWith("["));
      assert.match(bars[bars.length - 1]!, /^\[#{30}\] 3\/3 \(100%\) failed 0\s+completed$/);
      assert.ok(
        watch.stdout.some((l) => /state\s+completed/.test(l)),
        "the final summary is printed",
      );
    } finally {
      open();
      watch.kill();
    }
  });

  it("jetbus chain <id> prints the steps (done, failed, not run)", async () => {
    const ok = await bus.chain(job(t.ok), job(t.ok)).dispatch();
    const failed = await bus.chain(job(t.ok), job(t.bad), job(t.ok)).dispatch();
    await waitChain(bus, ok, (c) => c.completed);
    await waitChain(bus, failed, (c) => c.failed);
    const a = await runCli(["chain", ok], mesh.url);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /state\s+completed\s+next 2\/2/);
    assert.equal(a.stdout.split("\n").filter((l) => l.includes(`✓ ${t.ok}`)).length, 2);
    const b = await runCli(["chain", failed], mesh.url);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /state\s+failed\s+next 1\/3/);
    assert.match(b.stdout, new RegExp(`✓ ${t.ok}[\\s\\S]*✗ ${t.bad}[\\s\\S]*  ${t.ok}`));
    assert.match(b.stdout, /failure\s+PERMANENT: broken on purpose/);
    const running = await runCli(["chain", "chn_missing"], mesh.url);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /chain chn_missing not found/);
  });
});

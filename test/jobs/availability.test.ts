/**
 * @module
 * What a client sees when the mesh cannot take a job: no dispatcher running (UNAVAILABLE, at once), and a
 * full queue (QUEUE_FULL, nothing stored and nothing dropped; dispatching works again once it drains).
 * One nats-server: the file starts without a dispatcher, then lowers the limit to JETBUS_MAX_QUEUED_JOBS=5 the
 * way an operator does (the plan of `jetbus init --apply`: services never change a live stream) and adds a
 * dispatcher with that setting.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { job, JetbusError, NatsBus, type Bus } from "../../shared/index.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/nats-server.ts";
import { loadConfig as dispatcherConfig } from "../../services/dispatcher/config.ts";
import { applyPlan, planTopology } from "../../shared/nats/plan.ts";
import { FAST_ENV, startInProcess, startMesh, type InProcessService, type Mesh } from "../helpers/mesh.ts";
import { rejectsWithCode } from "../helpers/jobs.ts";
import { uniq } from "../helpers/names.ts";

let server: NatsServer;
let mesh: Mesh;
let client: Bus;
let dispatcher: InProcessService | undefined;

before(async () => {
  server = await startNatsServer();
  mesh = await startMesh({ server, services: ["coordinator"] });
  client = await mesh.bus();
});

after(async () => {
  await mesh?.stop();
  await dispatcher?.stop();
  await server?.stop();
});

describe("no dispatcher running", () => {
  it("dispatch fails fast with UNAVAILABLE naming the dispatcher", async () => {
    const t0 = performance.now();
    await rejectsWithCode(client.dispatch(job(uniq("nobody"))), "UNAVAILABLE", /dispatcher/);
    const took = performance.now() - t0;
    assert.ok(took < 2_000, `took ${took.toFixed(0)} ms to fail`);

    const err = await rejectsWithCode(
      client.dispatchMany([job(uniq("nobody")), job(uniq("nobody"))]),
      "UNAVAILABLE",
      /dispatcher/,
    );
    assert.equal(err.retryable, true);
    await rejectsWithCode(client.chain(job(uniq("nobody"))).dispatch(), "UNAVAILABLE", /dispatcher/);
  });
});

describe("queue full (JETBUS_MAX_QUEUED_JOBS=5)", () => {
  it("rejects the 6th job with QUEUE_FULL, drops nothing, and accepts again once a worker drains it", async () => {
    const env = { ...FAST_ENV, JETBUS_MAX_QUEUED_JOBS: "5" };
    const admin = await jetstreamManager((client as NatsBus).nc);
    const applied = await applyPlan(admin, await planTopology(admin, dispatcherConfig(env).common.topology));
    assert.deepEqual(
      applied.filter((a) => a.error),
      [],
    );
    dispatcher = await startInProcess("dispatcher", server.url, env);
    const type = uniq("full");
    const accepted: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.dispatch(job(type, { i }));
      accepted.push(r.dispatchId);
    }
    const rejectedId = `dsp_${uniq("sixth").replace(/-/g, "_")}`;
    const err = await rejectsWithCode(
      client.dispatch(job(type, { i: 5 }).withId(rejectedId)),
      "QUEUE_FULL",
      /queue is full.*JETBUS_MAX_QUEUED_JOBS/,
    );
    assert.ok(err instanceof JetbusError);
    assert.equal(err.retryable, true);

    // Bulk: every job that does not fit gets its own QUEUE_FULL.
    const bulk = await client.dispatchMany([job(type, { i: 6 }), job(type, { i: 7 })]);
    assert.deepEqual(
      bulk.map((r) => (r.ok ? "ok" : r.error.code)),
      ["QUEUE_FULL", "QUEUE_FULL"],
    );

    assert.ok(client instanceof NatsBus);
    const jsm = await jetstreamManager(client.nc);
    assert.equal((await jsm.streams.info(STREAMS.jobs)).state.messages, 5, "exactly the 5 accepted jobs");

    const worker = await mesh.bus({ concurrency: 2 });
    const ran: number[] = [];
    worker.register(type, (ctx) => {
      ran.push(ctx.bind<{ i: number }>().i);
    });
    await worker.startWorkers();
    for (const id of accepted) {
      assert.equal((await client.wait(id, { timeout: 10_000 })).status, "succeeded");
    }
    const after = await client.dispatch(job(type, { i: 8 }));
    assert.equal((await client.wait(after.dispatchId, { timeout: 10_000 })).status, "succeeded");
    assert.deepEqual(
      ran.sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 8],
      "every accepted job ran once; rejected ones never did",
    );
    await rejectsWithCode(client.wait(rejectedId, { timeout: 200 }), "TIMEOUT");
  });
});

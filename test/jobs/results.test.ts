/**
 * @module
 * Where plain jobs' results are kept: in batches on JETBUS_RESULTS for time-ordered dispatch ids (a share of
 * a stored message per job, not one of its own), in `jetbus-results` under the id for any other. `bus.wait`
 * finds them after the fact, from another process and after the coordinator restarted; a bad message on a
 * results subject is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { job, type Bus } from "../../shared/index.ts";
import { BUCKETS, STREAMS } from "../../shared/protocol/names.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import { startInProcess, startMesh, type InProcessService, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { ncOf } from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
let coordinator: InProcessService | undefined;
before(async () => {
  mesh = await startMesh({ services: ["dispatcher"] });
  coordinator = await startInProcess("coordinator", mesh.url);
  client = await mesh.bus();
  worker = await mesh.bus({ concurrency: 32 });
  await worker.startWorkers();
});
after(async () => {
  await coordinator?.stop();
  await mesh?.stop();
});

const streamMessages = async (stream: string) =>
  (await (await jetstreamManager(ncOf(client))).streams.info(stream)).state.messages;

describe("results in batches", () => {
  it("500 jobs dispatched at once leave fewer result messages than jobs, on a few subjects, and none of their own", async () => {
    const type = uniq("batched");
    worker.register(type, (ctx) => ({ n: ctx.bind<{ n: number }>().n }));
    const before = await streamMessages(STREAMS.results);
    const ownBefore = await streamMessages(`KV_${BUCKETS.results}`);
    const results = await client.dispatchMany(Array.from({ length: 500 }, (_, n) => job(type, { n })));
    const outcomes = await Promise.all(
      results.map((r) => (r.ok ? client.wait(r.dispatchId, { timeout: 15_000 }) : Promise.reject(r.error))),
    );
    assert.deepEqual(
      outcomes.map((o) => (o.status === "succeeded" ? (o.result as { n: number }).n : -1)),
      Array.from({ length: 500 }, (_, n) => n),
    );
    const stored = (await streamMessages(STREAMS.results)) - before;
    // One message per (group of outcomes × results subject it touches); how many a group holds depends on load.
    assert.ok(stored > 0 && stored < 500, `${stored} result messages for 500 jobs`);
    const subjects = new Set(results.map((r) => resultSubject(r.dispatchId!)));
    assert.ok(subjects.size <= 8, `${subjects.size} results subjects: 4 shards of one or two time windows`);
    assert.equal(await streamMessages(`KV_${BUCKETS.results}`), ownBefore, "no record of its own");
  });

  it("a dispatch id that is not time-ordered keeps a record of its own, and waits work the same", async () => {
    const type = uniq("own-id");
    worker.register(type, () => "mine");
    const id = `order-${uniq("x")}`;
    assert.equal(resultSubject(id), null);
    await client.dispatch(job(type).withId(id));
    assert.deepEqual(await client.wait(id, { timeout: 10_000 }), {
      status: "succeeded",
      result: "mine",
      attempts: 1,
    });
    const kv = await jetstreamManager(ncOf(client));
    const e = await kv.streams.getMessage(`KV_${BUCKETS.results}`, {
      last_by_subj: `$KV.${BUCKETS.results}.${id}`,
    });
    assert.ok(e, "the record is in jetbus-results");
  });
});

describe("bus.wait after the fact", () => {
  it("finds a result from another process, and after the coordinator restarted", async () => {
    const type = uniq("late");
    worker.register(type, () => ({ late: true }));
    const { dispatchId } = await client.dispatch(job(type));
    const first = await client.wait(dispatchId, { timeout: 10_000 });
    assert.deepEqual(first, { status: "succeeded", result: { late: true }, attempts: 1 });

    await coordinator!.stop();
    coordinator = await startInProcess("coordinator", mesh.url);
    const other = await mesh.bus({ name: "another-process" });
    assert.deepEqual(await other.wait(dispatchId, { timeout: 5_000 }), first);
    await other.shutdown();
  });

  it("skips a bad message on the results subject and still finds the result", async () => {
    const type = uniq("garbage");
    worker.register(type, () => 7);
    const { dispatchId } = await client.dispatch(job(type).delay(300));
    const js = jetstream(ncOf(client));
    const subject = resultSubject(dispatchId)!;
    for (const bad of ["not json", "null", '{"v":1,"results":[{"dispatch_id":1}]}', '{"v":2,"results":[]}'])
      await js.publish(subject, bad);
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: 7,
      attempts: 1,
    });
    const other = await mesh.bus({ name: "reader" });
    assert.deepEqual(await other.wait(dispatchId, { timeout: 5_000 }), {
      status: "succeeded",
      result: 7,
      attempts: 1,
    });
    await other.shutdown();
  });

  it("4,000 waits for jobs that finished earlier all answer from another process, reading each subject once", async () => {
    const type = uniq("after");
    worker.register(type, (ctx) => ctx.bind<{ n: number }>().n);
    const sent = await client.dispatchMany(Array.from({ length: 4_000 }, (_, n) => job(type, { n })));
    const ids = sent.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
    await Promise.all(ids.map((id) => client.wait(id, { timeout: 60_000 })));
    const other = await mesh.bus({ name: "late-reader" });
    const started = Date.now();
    const outcomes = await Promise.all(ids.map((id) => other.wait(id, { timeout: 30_000 })));
    const ms = Date.now() - started;
    assert.deepEqual(
      outcomes.map((o) => (o.status === "succeeded" ? o.result : -1)),
      ids.map((_, n) => n),
    );
    console.log(`# 4,000 waits after the fact answered in ${ms} ms`);
    await other.shutdown();
  });
});

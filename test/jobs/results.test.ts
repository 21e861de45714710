/**
 * @module
 * Where plain jobs' results are kept: in batches on JETBUS_RESULTS for time-ordered dispatch ids (a share of
 * a stored message per job, not one of its own), in `jetbus-results` under the id for any other. `bus.wait`
 * finds them after the fact, from another process and after the coordinator restarted; a bad message on a
 * results subject is skipped. Jobs nobody watches (`dispatchMany`'s) end with no done notice, and a wait for one
 * answers from its record as it is stored (`ResultFeed`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { job, type Bus } from "../../shared/index.ts";
import { BUCKETS, STREAMS } from "../../shared/protocol/names.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import type { DoneNotice, ResultRecord } from "../../shared/protocol/schemas.ts";
import { ResultFeed } from "../../shared/sdk/result-feed.ts";
import { newId } from "../../shared/ids.ts";
import { deferred, waitFor } from "../../shared/testkit/index.ts";
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
    const outcomes = await Promise.all(ids.map((id) => other.wait(id, { timeout: 90_000 })));
    const ms = Date.now() - started;
    assert.deepEqual(
      outcomes.map((o) => (o.status === "succeeded" ? o.result : -1)),
      ids.map((_, n) => n),
    );
    // 1.8 s on a quiet machine, 6 s under load; before the results index one wait read its whole subject, and
    // 4,000 of them did not all answer within 30 s. The index's own test counts the reads.
    console.log(`# 4,000 waits after the fact answered in ${ms} ms`);
    await other.shutdown();
  });
});

describe("done notices only where someone listens", () => {
  it("dispatchMany's jobs end with no done notice from the worker or the coordinator; a dispatch's gets both", async () => {
    const type = uniq("unwatched");
    worker.register(type, (ctx) => ctx.bind<{ n: number }>().n);
    const nc = ncOf(client);
    const notices = new Map<string, number>();
    const sub = nc.subscribe(subjects.done("*"), {
      callback: (_e, m) => {
        const n = m.json<DoneNotice>();
        if (n.kind === "job") notices.set(n.record.dispatch_id, (notices.get(n.record.dispatch_id) ?? 0) + 1);
      },
    });
    await nc.flush();
    const sent = await client.dispatchMany(Array.from({ length: 20 }, (_, n) => job(type, { n })));
    const ids = sent.map((r) => (r.ok ? r.dispatchId : assert.fail(String(r.error))));
    const outcomes = await Promise.all(ids.map((id) => client.wait(id, { timeout: 10_000 })));
    assert.deepEqual(
      outcomes.map((o) => (o.status === "succeeded" ? o.result : -1)),
      ids.map((_, n) => n),
    );
    // The worker and the coordinator each publish in order: once both notices of a later job are here, any
    // notice of the earlier ones would be too.
    const { dispatchId } = await client.dispatch(job(type, { n: 99 }));
    assert.deepEqual(await client.wait(dispatchId, { timeout: 10_000 }), {
      status: "succeeded",
      result: 99,
      attempts: 1,
    });
    await waitFor("the dispatched job's two notices", () => notices.get(dispatchId) === 2);
    sub.unsubscribe();
    assert.deepEqual(
      ids.filter((id) => notices.has(id)),
      [],
      "no notice for a job sent without one",
    );
  });

  it("a wait from another process, started before the job ends, answers when its record is stored", async () => {
    const type = uniq("unwatched-late");
    const gate = deferred();
    const running = deferred();
    worker.register(type, async () => {
      running.resolve();
      await gate.wait(10_000, "the gate");
      return "done";
    });
    const [sent] = await client.dispatchMany([job(type)]);
    const id = sent!.ok ? sent!.dispatchId : assert.fail(String(sent!.error));
    await running.wait(10_000, "the job to start");
    const other = await mesh.bus({ name: "waits-elsewhere" });
    const waiting = other.wait(id, { timeout: 10_000 });
    // The wait may also answer from its reads (every 250 ms and more): a feed of its own shows that the
    // coordinator's write itself reaches a listener, with the record the wait gives.
    const feed = new ResultFeed(ncOf(other));
    const stored = deferred<ResultRecord>();
    const stop = feed.follow(id, (r) => stored.resolve(r));
    await ncOf(other).flush();
    gate.resolve();
    assert.deepEqual(await waiting, { status: "succeeded", result: "done", attempts: 1 });
    const record = await stored.wait(10_000, "the record, as it is stored");
    assert.deepEqual([record.dispatch_id, record.status, record.result], [id, "succeeded", "done"]);
    stop();
    await other.shutdown();
  });
});

describe("ResultFeed", () => {
  it("passes on the records stored for an id, batched or on its own key, and nothing else; stops when told", async () => {
    const nc = ncOf(client);
    const js = jetstream(nc);
    const feed = new ResultFeed(nc);
    const id = newId("dsp");
    const otherId = newId("dsp");
    const got: ResultRecord[] = [];
    const stop = feed.follow(id, (r) => got.push(r));
    assert.equal(feed.size, 2, "its batch subject and its own key");
    await nc.flush();
    const record = (dispatchId: string, result: unknown): ResultRecord => ({
      v: 1,
      dispatch_id: dispatchId,
      job_id: dispatchId,
      type: "t:feed",
      queue: "default",
      status: "succeeded",
      result,
      attempts: 1,
      finished_at: Date.now(),
    });
    // Built by resultSubject, as the coordinator builds it; its shape is checked against protocol §4.
    const subject = resultSubject(id)!;
    assert.match(subject, /^jetbus\.results\.\d+\.[0-3]$/);
    for (const bad of ["not json", "null", '{"v":1,"results":[{"dispatch_id":1}]}'])
      await js.publish(subject, bad);
    await js.publish(
      subject,
      JSON.stringify({ v: 1, results: [record(otherId, "other"), record(id, "batched")] }),
    );
    await js.publish(`$KV.jetbus-results.${id}`, JSON.stringify(record(id, "own")));
    await waitFor("both records", () => got.length === 2);
    assert.deepEqual(
      got.map((r) => r.result),
      ["batched", "own"],
    );
    stop();
    assert.equal(feed.size, 0, "unsubscribed once nobody listens");
  });
});

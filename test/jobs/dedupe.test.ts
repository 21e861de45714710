/**
 * @module
 * uniqueFor (same queue, type and canonical payload within the TTL → DUPLICATE), idempotent dispatch (the
 * same dispatch id twice → one job), and delayed jobs never holding up the jobs behind them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import { DuplicateError, job, type Bus } from "../../shared/index.ts";
import { canonicalJson } from "../../shared/protocol/canonical-json.ts";
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { CountLatch, waitFor } from "../../shared/testkit/wait.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { rejectsWithCode } from "../helpers/jobs.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker({ concurrency: 8 })));
after(() => mesh?.stop());

describe("uniqueFor", () => {
  it("rejects an identical dispatch within the TTL, accepts other payloads and queues, and accepts again after it", async () => {
    const type = uniq("uniq");
    worker.register(type, () => "ran");
    const ttl = 1_500;
    const first = await client.dispatch(job(type, { a: 1, b: { c: 2, d: 3 } }).uniqueFor(ttl));
    assert.equal(first.duplicate, false);

    // Same logical job, keys in another order: identical.
    const err = await rejectsWithCode(
      client.dispatch(job(type, { b: { d: 3, c: 2 }, a: 1 }).uniqueFor(ttl)),
      "DUPLICATE",
      new RegExp(`${type}.*${first.dispatchId}`),
    );
    assert.ok(err instanceof DuplicateError);
    const expiresAt = (err.details as { expires_at: number }).expires_at;
    assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + ttl + 100, `expires_at ${expiresAt}`);

    // Another payload, another queue, or no uniqueFor at all: different jobs.
    const other = await client.dispatch(job(type, { a: 2, b: { c: 2, d: 3 } }).uniqueFor(ttl));
    const otherQueue = await client.dispatch(
      job(type, { a: 1, b: { c: 2, d: 3 } })
        .onQueue(uniq("elsewhere"))
        .uniqueFor(ttl),
    );
    assert.equal(other.duplicate, false);
    assert.equal(otherQueue.duplicate, false);
    assert.notEqual(other.dispatchId, first.dispatchId);

    // After the TTL the same job is accepted again (and not before).
    const again = await waitFor(
      "the uniqueFor claim to expire",
      async () => {
        try {
          const r = await client.dispatch(job(type, { a: 1, b: { c: 2, d: 3 } }).uniqueFor(ttl));
          return { r, at: Date.now() };
        } catch (e) {
          assert.equal((e as DuplicateError).code, "DUPLICATE");
          return null;
        }
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.ok(again.at >= expiresAt, "accepted before the TTL ran out");
    assert.ok(again.at < expiresAt + 1_000, "the claim lingered far past its TTL");
    assert.notEqual(again.r.dispatchId, first.dispatchId);
    for (const id of [first.dispatchId, other.dispatchId, again.r.dispatchId]) {
      assert.equal((await client.wait(id, { timeout: 10_000 })).status, "succeeded");
    }
  });

  it("a 300 ms uniqueFor is accepted again after 300 ms, though the server keeps its key for a whole second", async () => {
    const type = uniq("uniq-short");
    worker.register(type, () => "ran");
    const payload = { short: true };
    const unique = await new Kvm(mesh.services[0]!.nc).open(BUCKETS.unique);
    const key = keys.unique("default", type, canonicalJson(payload));
    const first = await client.dispatch(job(type, payload).uniqueFor(300));
    const t0 = Date.now();
    await rejectsWithCode(client.dispatch(job(type, payload).uniqueFor(300)), "DUPLICATE");
    const again = await waitFor(
      "the 300 ms claim to free",
      async () => {
        const held = await unique.get(key);
        try {
          const r = await client.dispatch(job(type, payload).uniqueFor(300));
          return { r, at: Date.now() - t0, held };
        } catch (e) {
          assert.equal((e as DuplicateError).code, "DUPLICATE");
          return null;
        }
      },
      { intervalMs: 20 },
    );
    assert.ok(again.at < 900, `accepted only after ${again.at} ms`);
    assert.equal(again.held?.operation, "PUT", "the server key had gone: expires_at was not what decided");
    assert.equal(again.held.json<{ dispatch_id: string }>().dispatch_id, first.dispatchId);
    assert.equal((await client.wait(again.r.dispatchId, { timeout: 10_000 })).status, "succeeded");
  });
});

describe("idempotent dispatch", () => {
  it("the same dispatch id twice gives duplicate:true and exactly one handler run", async () => {
    const type = uniq("idem");
    const real: string[] = [];
    let markers = 0;
    worker.register(
      type,
      (ctx) => {
        if (ctx.bind<{ marker?: boolean }>().marker) markers++;
        else real.push(ctx.dispatchId);
        return real.length;
      },
      { concurrency: 1 },
    );
    const id = `dsp_${uniq("idem").replace(/-/g, "_")}`;
    const first = await client.dispatch(job(type, { n: 1 }).withId(id));
    assert.deepEqual(first, { dispatchId: id, duplicate: false });
    assert.deepEqual(await client.wait(id, { timeout: 10_000 }), {
      status: "succeeded",
      result: 1,
      attempts: 1,
    });

    const second = await client.dispatch(job(type, { n: 1 }).withId(id));
    assert.deepEqual(second, { dispatchId: id, duplicate: true });
    // Had the retry stored a job, it would sit ahead of this marker on the one consumer of the type
    // (concurrency 1), so once the marker has run every earlier job has had its turn.
    const marker = await client.dispatch(job(type, { marker: true }));
    await client.wait(marker.dispatchId, { timeout: 10_000 });
    assert.equal(markers, 1);
    assert.deepEqual(real, [id], "the handler ran once for the id");
  });

  it("concurrent requests with one id store one job", async () => {
    const type = uniq("race");
    const ran = new CountLatch<string>(1);
    let runs = 0;
    worker.register(type, (ctx) => {
      runs++;
      ran.countDown(ctx.dispatchId);
    });
    const id = `dsp_${uniq("race").replace(/-/g, "_")}`;
    const replies = await Promise.all(Array.from({ length: 5 }, () => client.dispatch(job(type).withId(id))));
    assert.equal(replies.filter((r) => !r.duplicate).length, 1, JSON.stringify(replies));
    assert.ok(replies.every((r) => r.dispatchId === id));
    await ran.wait(10_000, "the job to run");
    await client.wait(id, { timeout: 10_000 });
    const marker = await client.dispatch(job(type));
    await client.wait(marker.dispatchId, { timeout: 10_000 });
    assert.equal(runs, 2, "one run for the id, one for the marker");
  });

  it("the same id under uniqueFor gets the first reply, not DUPLICATE; another id does", async () => {
    const type = uniq("idem-uniq");
    worker.register(type, () => "ok");
    const id = `dsp_${uniq("iu").replace(/-/g, "_")}`;
    const j = job(type, { k: "v" }).uniqueFor(30_000);
    assert.deepEqual(await client.dispatch(j.withId(id)), { dispatchId: id, duplicate: false });
    assert.deepEqual(await client.dispatch(j.withId(id)), { dispatchId: id, duplicate: true });
    await rejectsWithCode(client.dispatch(j), "DUPLICATE");
    assert.equal((await client.wait(id, { timeout: 10_000 })).status, "succeeded");
  });
});

describe("delayed jobs do not block", () => {
  it("1,000 jobs delayed 5 s do not hold up an undelayed job dispatched after them", async () => {
    const type = uniq("hol");
    const delayedRuns = new CountLatch(1_000);
    let earlyDelayed = 0;
    let dispatchedAt = 0;
    worker.register(
      type,
      (ctx) => {
        if (ctx.bind<{ delayed: boolean }>().delayed) {
          if (Date.now() < dispatchedAt + 5_000 - 25) earlyDelayed++;
          delayedRuns.countDown();
        }
        return "ok";
      },
      { concurrency: 64 },
    );
    dispatchedAt = Date.now();
    const results = await client.dispatchMany(
      Array.from({ length: 1_000 }, (_, i) => job(type, { delayed: true, i }).delay(5_000)),
    );
    assert.ok(results.every((r) => r.ok));
    const t0 = performance.now();
    const { dispatchId } = await client.dispatch(job(type, { delayed: false }));
    const out = await client.wait(dispatchId, { timeout: 10_000 });
    const took = performance.now() - t0;
    assert.equal(out.status, "succeeded");
    assert.ok(took < 1_500, `the undelayed job took ${took.toFixed(0)} ms`);
    assert.equal(delayedRuns.remaining, 1_000, "no delayed job ran early");
    // And the delayed ones do run, once their time has come.
    await delayedRuns.wait(20_000, "the 1,000 delayed jobs");
    assert.equal(earlyDelayed, 0, "delayed jobs started before their delay");
  });
});

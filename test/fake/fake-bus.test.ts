/**
 * @module
 * `createFakeBus()`, the Go `bus` package's Fake: every assertion passes when it should and, when it should not, throws
 * node's `AssertionError` with a message showing what was recorded. Builders record only at `dispatch()`;
 * `reset()` forgets everything; `findBatch` / `findChain` are not found; nothing runs.
 */
import assert, { AssertionError } from "node:assert/strict";
import { describe, it } from "node:test";
import { createFakeBus, job, NotFoundError, ValidationError } from "../../shared/index.ts";

/** The assertion must throw AssertionError and its message must match every pattern. */
function fails(fn: () => void, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AssertionError, `expected an AssertionError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe("createFakeBus: direct dispatches", () => {
  it("assertNothingDispatched / assertCount on an empty fake, and their failures", async () => {
    const fake = createFakeBus();
    fake.assertNothingDispatched();
    fake.assertCount(0);
    fake.assertNotDispatched("any:type");
    fails(() => fake.assertDispatched("mail:send"), /"mail:send"/, /nothing was dispatched/);
    fails(() => fake.assertCount(1), /expected 1 dispatch\(es\), got 0/, /nothing was dispatched/);
    await fake.dispatch(job("mail:send", { to: "a@b.c" }));
    fails(() => fake.assertNothingDispatched(), /expected nothing to be dispatched/, /mail:send@default/);
  });

  it("assertDispatched by type and by predicate", async () => {
    const fake = createFakeBus();
    const r = await fake.dispatch(job("mail:send", { to: "a@b.c" }).retry(2));
    assert.ok(r.dispatchId.length > 0);
    assert.equal(r.duplicate, false);
    fake.assertDispatched("mail:send");
    fake.assertDispatched((d) => d.type === "mail:send" && (d.payload as { to: string }).to === "a@b.c");
    fake.assertDispatched((d) => d.options.retry === 2);
    fails(() => fake.assertDispatched("mail:other"), /"mail:other"/, /dispatched: mail:send@default/);
    fails(() => fake.assertDispatched((d) => d.options.retry === 5), /a matching job/, /mail:send@default/);
  });

  it('assertDispatchedOn matches the queue exactly (default queue is "default")', async () => {
    const fake = createFakeBus();
    await fake.dispatch(job("report:build").onQueue("critical"));
    await fake.dispatch(job("report:mail"));
    fake.assertDispatchedOn("critical", "report:build");
    fake.assertDispatchedOn("default", "report:mail");
    fails(
      () => fake.assertDispatchedOn("default", "report:build"),
      /"report:build" to be dispatched on queue "default"/,
      /report:build@critical, report:mail@default/,
    );
  });

  it("assertDispatchedTimes / assertNotDispatched / assertCount", async () => {
    const fake = createFakeBus();
    await fake.dispatch(job("a"));
    await fake.dispatch(job("a"));
    await fake.dispatchMany([job("b"), job("a")]);
    fake.assertDispatchedTimes("a", 3);
    fake.assertDispatchedTimes("b", 1);
    fake.assertDispatchedTimes("c", 0);
    fake.assertCount(4);
    fake.assertNotDispatched("c");
    fails(
      () => fake.assertDispatchedTimes("a", 2),
      /"a" to be dispatched 2 time\(s\), it was dispatched 3/,
      /a@default, a@default, b@default, a@default/,
    );
    fails(() => fake.assertNotDispatched("b"), /"b" not to be dispatched/, /b@default/);
    fails(() => fake.assertCount(3), /expected 3 dispatch\(es\), got 4/, /a@default/);
  });

  it("nothing runs; wait, findChain and findBatch are not found; prune removes nothing", async () => {
    const fake = createFakeBus();
    let ran = false;
    fake.register("x", () => {
      ran = true;
    });
    await fake.startWorkers();
    const { dispatchId } = await fake.dispatch(job("x"));
    assert.equal(ran, false);
    await assert.rejects(fake.wait(dispatchId), NotFoundError);
    await assert.rejects(fake.findBatch("bat_1"), NotFoundError);
    await assert.rejects(fake.findBatch("bat_1"), { code: "NOT_FOUND" });
    await assert.rejects(fake.findChain("chn_1"), NotFoundError);
    assert.equal(await fake.prune(new Date()), 0);
    await fake.shutdown();
  });
});

describe("createFakeBus: chains and batches", () => {
  it("builders record only at dispatch(), once per dispatch", async () => {
    const fake = createFakeBus();
    const chain = fake.chain(job("c:1"), job("c:2")).catch(job("c:catch"));
    const batch = fake.batch(job("b:1"), job("b:2")).name("nightly").allowFailures().then(job("b:then"));
    fake.assertNothingBatched();
    fake.assertBatchCount(0);
    fails(() => fake.assertChained(["c:1", "c:2"]), /expected a chain \[c:1 → c:2\]/, /no chains/);
    const chainId = await chain.dispatch();
    const batchId = await batch.dispatch();
    assert.ok(chainId && batchId && chainId !== batchId);
    fake.assertChained(["c:1", "c:2"]);
    fake.assertBatchCount(1);
    await batch.dispatch();
    fake.assertBatchCount(2);
    fake.assertNothingDispatched(); // workflow jobs are not direct dispatches
    await assert.rejects(fake.findBatch(batchId), NotFoundError);
    await assert.rejects(fake.findChain(chainId), NotFoundError);
  });

  it("assertChained needs the exact types in order, and shows the recorded chains", async () => {
    const fake = createFakeBus();
    await fake.chain(job("poll"), job("downsample"), job("alert")).onQueue("q").dispatch();
    fake.assertChained(["poll", "downsample", "alert"]);
    assert.equal(fake.chains[0]!.queue, "q");
    assert.deepEqual(
      fake.chains[0]!.jobs.map((j) => j.queue),
      ["q", "q", "q"],
    );
    fails(() => fake.assertChained(["poll", "alert", "downsample"]), /\[poll → downsample → alert\]/);
    fails(() => fake.assertChained(["poll", "downsample"]), /expected a chain \[poll → downsample\]/);
  });

  it("assertBatched by predicate over the recorded batch, and its failure shows the batches", async () => {
    const fake = createFakeBus();
    await fake.batch(job("img:resize"), job("img:resize"), job("img:tag")).name("images").dispatch();
    fake.assertBatched((b) => b.name === "images" && b.types.length === 3);
    fake.assertBatched((b) => b.types.filter((t) => t === "img:resize").length === 2 && !b.allowFailures);
    fails(() => fake.assertBatched((b) => b.allowFailures), /images: \[img:resize, img:resize, img:tag\]/);
  });

  it("assertBatchCount and assertNothingBatched failures show what was recorded", async () => {
    const fake = createFakeBus();
    await fake.batch(job("x:1"), job("x:2")).name("first").dispatch();
    fails(() => fake.assertBatchCount(2), /expected 2 batch\(es\), got 1/, /first: \[x:1, x:2\]/);
    fails(() => fake.assertNothingBatched(), /expected no batches, got 1/, /first: \[x:1, x:2\]/);
  });

  it("reset() forgets dispatches, chains and batches", async () => {
    const fake = createFakeBus();
    await fake.dispatch(job("a"));
    await fake.chain(job("a"), job("b")).dispatch();
    await fake.batch(job("a")).dispatch();
    fake.reset();
    fake.assertNothingDispatched();
    fake.assertNothingBatched();
    fake.assertCount(0);
    fails(() => fake.assertChained(["a", "b"]), /no chains/);
  });

  it("fake builders validate like the real ones", async () => {
    const fake = createFakeBus();
    assert.throws(() => fake.batch(), ValidationError);
    assert.throws(() => fake.chain(), ValidationError);
    assert.throws(() => fake.batch(job("a")).then((() => 1) as never), /did you forget \.dispatch\(\)\?/);
    await assert.rejects(async () => {
      await (fake.batch(job("a")) as unknown as Promise<unknown>);
    }, /did you forget \.dispatch\(\)\?/);
    fake.assertNothingBatched();
  });
});

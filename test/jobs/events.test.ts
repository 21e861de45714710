/**
 * @module
 * Lifecycle events of plain jobs through `bus.observe`: each fact once (deduplicating by id removes nothing),
 * with the fields a dashboard needs, and a replay of past events with `{ fromSeq }`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { job, type Bus, type BusEvent, type EventKind, type Subscription } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
before(async () => ({ mesh, client, worker } = await startClientAndWorker()));
after(() => mesh?.stop());

/** Collects every event of one job type. */
function collect(bus: Bus, type: string, opts: Parameters<Bus["observe"]>[1] = {}) {
  const events: BusEvent[] = [];
  const sub: Subscription = bus.observe((e) => {
    if (e.jobType === type) events.push(e);
  }, opts);
  return { events, sub };
}

const kindsOf = (events: BusEvent[], id: string) =>
  events
    .filter((e) => e.dispatchId === id)
    .map((e) => `${e.kind}${e.attempt !== undefined && e.kind.startsWith("job_") ? `@${e.attempt}` : ""}`)
    .sort();

function assertNoDuplicateIds(events: BusEvent[]): void {
  const seen = new Map<string, BusEvent>();
  for (const e of events) {
    assert.ok(!seen.has(e.id), `event ${e.id} (${e.kind}) delivered twice`);
    seen.set(e.id, e);
  }
}

describe("plain job events", () => {
  it("each fact appears once, and observe({ fromSeq }) replays them", async () => {
    const type = uniq("ev");
    worker.register(type, (ctx) => {
      const { mode } = ctx.bind<{ mode: string }>();
      if (mode === "fail" || (mode === "flaky" && ctx.attempt === 0)) throw new Error(`${mode} failure`);
      return mode;
    });
    const live = collect(client, type);
    await live.sub.ready;

    const ok = await client.dispatch(job(type, { mode: "ok" }));
    const flaky = await client.dispatch(job(type, { mode: "flaky" }).retry(1));
    const fail = await client.dispatch(job(type, { mode: "fail" }));
    // A retried request with the same id is not a new fact.
    assert.equal((await client.dispatch(job(type, { mode: "ok" }).withId(ok.dispatchId))).duplicate, true);
    for (const r of [ok, flaky, fail]) await client.wait(r.dispatchId, { timeout: 10_000 });

    const expected: Record<string, string[]> = {
      [ok.dispatchId]: ["dispatch_started", "dispatch_succeeded", "job_started@0", "job_succeeded@0"],
      [flaky.dispatchId]: [
        "dispatch_started",
        "dispatch_succeeded",
        "job_retried@0",
        "job_started@0",
        "job_started@1",
        "job_succeeded@1",
      ],
      [fail.dispatchId]: [
        "dispatch_started",
        "dispatch_succeeded",
        "job_dead_lettered@0",
        "job_failed@0",
        "job_started@0",
      ],
    };
    const total = Object.values(expected).flat().length;
    await waitFor(`the ${total} events`, () => live.events.length >= total, { timeoutMs: 10_000 });
    // Anything late (a duplicate) would come before the events of a job dispatched and finished after.
    const marker = await client.dispatch(job(type, { mode: "ok" }));
    await client.wait(marker.dispatchId, { timeout: 10_000 });
    await waitFor("the marker's job_succeeded", () =>
      live.events.some((e) => e.dispatchId === marker.dispatchId && e.kind === "job_succeeded"),
    );

    assertNoDuplicateIds(live.events);
    for (const [id, kinds] of Object.entries(expected)) assert.deepEqual(kindsOf(live.events, id), kinds, id);

    // Fields a dashboard relies on.
    for (const e of live.events) {
      assert.equal(e.jobType, type);
      assert.equal(e.queue, "default");
      assert.ok(e.at instanceof Date);
      assert.ok(e.seq > 0);
      if (e.kind.startsWith("job_")) assert.equal(e.jobId, e.dispatchId);
    }
    const retried = live.events.find((e) => e.kind === "job_retried")!;
    assert.match(retried.error!.message, /flaky failure/);
    const failed = live.events.find((e) => e.kind === "job_failed")!;
    assert.equal(failed.error!.code, "HANDLER_ERROR");
    const succeeded = live.events.find((e) => e.kind === "job_succeeded")!;
    assert.ok(typeof succeeded.durationMs === "number" && succeeded.durationMs >= 0);

    // Replay from the first stored message: the same facts again, in stream order.
    const fromSeq = Math.min(...live.events.map((e) => e.seq));
    const replay = collect(client, type, { fromSeq });
    await replay.sub.ready;
    await waitFor("the replay", () => replay.events.length >= live.events.length, { timeoutMs: 10_000 });
    assert.deepEqual(replay.events.map((e) => e.id).sort(), live.events.map((e) => e.id).sort());
    const seqs = replay.events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      "replayed in stream order",
    );

    // Only some kinds.
    const kinds: EventKind[] = ["job_failed", "job_dead_lettered"];
    const only = collect(client, type, { fromSeq, kinds });
    await waitFor("the filtered replay", () => only.events.length >= 2);
    assert.deepEqual(only.events.map((e) => e.kind).sort(), ["job_dead_lettered", "job_failed"]);
    await Promise.all([live.sub.stop(), replay.sub.stop(), only.sub.stop()]);
  });

  it("a replayed dead letter's events are new facts with their own ids", async () => {
    const type = uniq("ev-replay");
    let healthy = false;
    worker.register(type, () => {
      if (!healthy) throw new Error("not yet");
      return "fine";
    });
    const live = collect(client, type);
    await live.sub.ready;
    const { dispatchId } = await client.dispatch(job(type));
    assert.equal((await client.wait(dispatchId, { timeout: 10_000 })).status, "failed");
    const [letter] = await waitFor("the dead letter", async () => {
      const l = await client.deadLetters.list({ type });
      return l.length > 0 ? l : null;
    });
    healthy = true;
    await client.deadLetters.replay(letter!.seq);
    await waitFor("the replay's job_succeeded", () => live.events.some((e) => e.kind === "job_succeeded"));
    assert.deepEqual(kindsOf(live.events, dispatchId), [
      "dispatch_started",
      "dispatch_succeeded",
      "job_dead_lettered@0",
      "job_failed@0",
      "job_started@0",
      "job_started@0",
      "job_succeeded@0",
    ]);
    assertNoDuplicateIds(live.events);
    await live.sub.stop();
  });
});

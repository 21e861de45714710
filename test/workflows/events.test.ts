/**
 * @module
 * Events once per fact: for a chain and for a batch, every lifecycle event is observed once (no duplicate
 * ids), each kind the expected number of times, and a replay from a recorded stream sequence
 * (`observe(fn, { fromSeq })`) returns the later events again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus, type BusEvent } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { collectEvents, kindsFor, ncOf, workflowSettled } from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let bus: Bus;
let live: Awaited<ReturnType<typeof collectEvents>>;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus();
  await bus.startWorkers();
  live = await collectEvents(bus);
});

after(async () => {
  await live?.stop();
  await mesh?.stop();
});

const of = (id: string) => live.events.filter((e) => e.chainId === id || e.batchId === id);

function assertUniqueIds(events: readonly BusEvent[]): void {
  const ids = events.map((e) => e.id);
  const dups = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dups, [], "no event id is seen twice");
}

/** Replays from `fromSeq` until `done` says the replay has caught up. */
async function replay(fromSeq: number, done: (events: BusEvent[]) => boolean): Promise<BusEvent[]> {
  const events: BusEvent[] = [];
  const sub = bus.observe(
    (e) => {
      events.push(e);
    },
    { fromSeq },
  );
  await sub.ready;
  try {
    await waitFor("the replay to catch up", () => done(events));
  } finally {
    await sub.stop();
  }
  return events;
}

describe("workflow events", () => {
  it("a 4-step chain: chain_started 1, chain_advanced 3, chain_completed 1, job and callback events once", async () => {
    const step = uniq("ev-step");
    const fin = uniq("ev-fin");
    bus.register(step, runs.handler());
    bus.register(fin, runs.handler());
    const id = await bus
      .chain(...[0, 1, 2, 3].map((i) => job(step, { i })))
      .finally(job(fin))
      .dispatch();
    await runs.waitCount(fin, 1);
    await workflowSettled(ncOf(bus), "chain", id);
    await waitFor("the finally callback's events", () => kindsFor(live.events, id).get("callback_succeeded"));
    const events = of(id);
    assertUniqueIds(events);
    const k = kindsFor(events, id);
    assert.deepEqual(Object.fromEntries([...k].sort(([a], [b]) => a.localeCompare(b))), {
      callback_started: 1,
      callback_succeeded: 1,
      chain_advanced: 3,
      chain_completed: 1,
      chain_started: 1,
      job_started: 4,
      job_succeeded: 4,
    });
    const advanced = events.filter((e) => e.kind === "chain_advanced").map((e) => e.jobId);
    assert.deepEqual(advanced.sort(), [`${id}_n0`, `${id}_n1`, `${id}_n2`]);
    const cb = events.find((e) => e.kind === "callback_succeeded")!;
    assert.deepEqual([cb.callback, cb.jobId, cb.jobType], ["finally", `${id}_finally`, fin]);
    assert.ok(
      events.every((e) => e.dispatchId === events[0]!.dispatchId),
      "one dispatch id throughout",
    );

    // Replay from the sequence of chain_started: everything from there on comes again, same ids.
    const started = events.find((e) => e.kind === "chain_started")!;
    const later = events.filter((e) => e.seq >= started.seq).map((e) => e.id);
    const again = await replay(started.seq, (got) => later.every((x) => got.some((e) => e.id === x)));
    const replayed = again.filter((e) => e.chainId === id);
    assert.deepEqual(replayed.map((e) => e.id).sort(), [...later].sort());
    assert.ok(
      again.every((e) => e.seq >= started.seq),
      "nothing before the requested sequence",
    );
    // Replaying from a later point skips what came before it.
    const completed = events.find((e) => e.kind === "chain_completed")!;
    const tail = await replay(completed.seq, (got) => got.some((e) => e.id === completed.id));
    assert.ok(!tail.some((e) => e.id === started.id));
  });

  it("a batch: batch_started 1, batch_progressed ≥ 1, batch_completed 1, callback events per callback", async () => {
    const m = uniq("ev-member");
    const cbs = { then: uniq("ev-then"), finally: uniq("ev-finally"), progress: uniq("ev-progress") };
    bus.register(m, runs.handler());
    for (const c of Object.values(cbs)) bus.register(c, runs.handler());
    const id = await bus
      .batch(...Array.from({ length: 5 }, (_, i) => job(m, { i })))
      .progress(job(cbs.progress))
      .then(job(cbs.then))
      .finally(job(cbs.finally))
      .dispatch();
    await runs.waitCount(cbs.finally, 1);
    await runs.waitCount(cbs.then, 1);
    await workflowSettled(ncOf(bus), "batch", id);
    const progressJobs = await waitFor("every progress job to run", async () => {
      const n = runs.count(cbs.progress);
      const k = kindsFor(live.events, id);
      const p = k.get("batch_progressed") ?? 0;
      return n > 0 && n === p && (k.get("callback_succeeded") ?? 0) === n + 2 ? { n } : null;
    });
    const events = of(id);
    assertUniqueIds(events);
    const k = kindsFor(events, id);
    assert.equal(k.get("batch_started"), 1);
    assert.equal(k.get("batch_completed"), 1);
    assert.ok((k.get("batch_progressed") ?? 0) >= 1);
    assert.equal(k.get("batch_failed"), undefined);
    assert.equal(k.get("batch_cancelled"), undefined);
    assert.equal(k.get("job_started"), 5);
    assert.equal(k.get("job_succeeded"), 5);
    const perCallback = (kind: string) =>
      Object.fromEntries(
        ["then", "finally", "progress"].map((c) => [
          c,
          events.filter((e) => e.kind === kind && e.callback === c).length,
        ]),
      );
    const expected = { then: 1, finally: 1, progress: progressJobs.n };
    assert.deepEqual(perCallback("callback_started"), expected);
    assert.deepEqual(perCallback("callback_succeeded"), expected);
    // The last progress event shows the final counts.
    const progressed = events.filter((e) => e.kind === "batch_progressed");
    const last = progressed.reduce((a, e) => (e.counts!.processed > a.counts!.processed ? e : a));
    assert.deepEqual(last.counts, { total: 5, pending: 0, processed: 5, failed: 0 });
    const completedEvent = events.find((e) => e.kind === "batch_completed")!;
    assert.deepEqual(completedEvent.counts, { total: 5, pending: 0, processed: 5, failed: 0 });

    const first = events.find((e) => e.kind === "batch_started")!;
    const later = events.filter((e) => e.seq >= first.seq).map((e) => e.id);
    const again = await replay(first.seq, (got) => later.every((x) => got.some((e) => e.id === x)));
    assert.deepEqual(
      again
        .filter((e) => e.batchId === id)
        .map((e) => e.id)
        .sort(),
      [...later].sort(),
    );
  });
});

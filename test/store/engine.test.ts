/**
 * @module
 * `WorkflowEngine` on both stores (`MemoryStore`, `KvWorkflowStore` on a real nats-server): two engines racing on one
 * workflow (first writer wins, no lost update, callbacks claimed once), duplicate outcomes never counted
 * twice, and the outbox: a crash between the write and the publish leaves the effects in the record, and the
 * reconciler's `flushOutbox` (or the next apply) performs each of them exactly once.
 */
import { memberJobId, nodeJobId } from "../../shared/core/ids.ts";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  applyOutcomes,
  type BatchState,
  type ChainState,
  type MemberOutcome,
  type Transition,
  type WorkflowState,
} from "../../shared/core/index.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import { effectKey, WorkflowEngine, type TransitionFn } from "../../shared/workflow/engine.ts";
import type { WorkflowRef, WorkflowStore } from "../../shared/workflow/store.ts";
import {
  batchState,
  chainState,
  collect,
  kvFactory,
  memoryFactory,
  RecordingSink,
  tally,
  type StoreFactory,
} from "../helpers/store-kit.ts";

let server: NatsServer;
let nc: NatsConnection;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

const ok = (index: number): MemberOutcome => ({ jobId: `m${index}`, index, status: "succeeded" });
const failed = (index: number): MemberOutcome => ({
  jobId: `m${index}`,
  index,
  status: "failed",
  error: { code: "HANDLER_ERROR", message: `member ${index} failed`, retryable: false },
});

/** The coordinator's transition: apply these outcomes to whatever the record holds now. */
function outcomes(engine: WorkflowEngine, os: MemberOutcome[]): TransitionFn {
  // Each outcome names its member's own job id (the core refuses any other).
  const own = (cur: WorkflowState) =>
    os.map((o) => ({
      ...o,
      jobId: cur.kind === "chain" ? nodeJobId(cur.id, o.index) : memberJobId(cur.id, o.index),
    }));
  return (cur) => (cur ? applyOutcomes(cur, own(cur), { now: engine.now(), newId: engine.newId }) : null);
}

/** Creates a record through the engine, as the dispatcher does (so it is also marked active). */
async function create(engine: WorkflowEngine, ref: WorkflowRef, state: WorkflowState): Promise<void> {
  const created: Transition<WorkflowState> = {
    next: state,
    effects: [],
    changed: true,
    rejected: [],
    duplicates: 0,
  };
  await engine.apply(ref, (cur) => (cur ? null : created));
}

async function stateOf(store: WorkflowStore, ref: WorkflowRef) {
  const r = await store.read(ref);
  assert.ok(r, `${ref.kind} ${ref.id} exists`);
  return r.value;
}

function engineContract(factory: StoreFactory): void {
  describe(`WorkflowEngine on ${factory.name}`, () => {
    let store: WorkflowStore;
    before(async () => {
      store = await factory.make();
    });

    it("two engines × 100 outcomes (plus crossed duplicates) on a 200-member batch: exact counts, callbacks claimed once", async () => {
      const ref: WorkflowRef = { kind: "batch", id: "race" };
      let conflicts = 0;
      const onConflict = () => conflicts++;
      const sinks = [new RecordingSink(), new RecordingSink()];
      const engines = sinks.map((s) => new WorkflowEngine(store, s, { onConflict }));
      await create(engines[0]!, ref, batchState("race", 200));
      const work = engines.flatMap((engine, e) => {
        const own = Array.from({ length: 100 }, (_, i) => e * 100 + i);
        // Every 5th member of the other engine arrives here too (a duplicate outcome, racing the original).
        const crossed = own.filter((i) => i % 5 === 0).map((i) => (i + 100) % 200);
        return [...own, ...crossed].map((i) => engine.apply(ref, outcomes(engine, [ok(i)])));
      });
      const results = await Promise.all(work);

      const { state, outbox } = await stateOf(store, ref);
      const s = state as BatchState;
      assert.equal(s.total, 200);
      assert.equal(s.processed, 200, "no lost update");
      assert.equal(s.failed, 0);
      assert.equal(s.completed, true);
      assert.equal(s.cancelled, false);
      assert.deepEqual(Object.keys(s.claims).sort(), ["finally", "then"]);
      // 240 applies, 200 counted: the 40 crossed duplicates were recognised as such.
      const counted = results.filter((r) => r.transition?.changed).length;
      const dups = results.reduce((n, r) => n + (r.transition?.duplicates ?? 0), 0);
      assert.equal(counted, 200);
      assert.equal(dups, 40);
      assert.ok(conflicts > 0, "the two engines did race (revision conflicts were retried)");
      // A broker deduplicating by msg id keeps one of each: exactly one then and one finally, no catch.
      const published = tally(sinks.flatMap((k) => k.callbackPublishes()));
      assert.deepEqual([...published.keys()].sort(), ["race_finally", "race_then"]);
      assert.equal(new Set(sinks.flatMap((k) => k.eventKinds("batch_completed"))).size, 1);
      assert.equal(new Set(sinks.flatMap((k) => k.eventKinds("batch_progressed"))).size, 200);
      assert.deepEqual(outbox, [], "a terminal record's outbox is cleared after its effects are performed");
    });

    it("a decision made on a stale cache (another engine wrote since) is re-checked on a fresh read", async () => {
      const ref: WorkflowRef = { kind: "chain", id: "stale" };
      const e1 = new WorkflowEngine(store, new RecordingSink());
      const e2 = new WorkflowEngine(store, new RecordingSink());
      await create(e1, ref, chainState("stale", ["a", "b", "c"]));
      await e1.apply(ref, outcomes(e1, [ok(0)])); // e1 now caches nextIndex 1
      await e2.apply(ref, outcomes(e2, [ok(1)])); // the record moves on to nextIndex 2
      // On e1's cached state node 2 looks "ahead of the chain": it must not be dropped.
      const r = await e1.apply(ref, outcomes(e1, [ok(2)]));
      assert.equal(r.transition?.changed, true);
      const s = (await stateOf(store, ref)).state as ChainState;
      assert.deepEqual([s.nextIndex, s.completed], [3, true]);
      // A transition that refuses (throws) on the cached state is retried on a fresh read too.
      await e2.apply(ref, (cur) =>
        cur
          ? { next: { ...cur, updatedAt: 9_999 }, effects: [], changed: true, rejected: [], duplicates: 0 }
          : null,
      );
      const seen: number[] = [];
      await e1.apply(ref, (cur) => {
        seen.push(cur!.updatedAt);
        if (cur!.updatedAt !== 9_999) throw new Error("refused on an old state");
        return null;
      });
      assert.equal(seen[seen.length - 1], 9_999);
      // A refusal on a fresh read still reaches the caller.
      const e3 = new WorkflowEngine(store, new RecordingSink());
      await assert.rejects(
        e3.apply(ref, () => {
          throw new Error("refused for real");
        }),
        /refused for real/,
      );
    });

    it("duplicate outcomes never count twice (same engine, another engine, inside one group, contradictory)", async () => {
      const ref: WorkflowRef = { kind: "batch", id: "dups" };
      const e1 = new WorkflowEngine(store, new RecordingSink());
      const e2 = new WorkflowEngine(store, new RecordingSink());
      await create(e1, ref, batchState("dups", 4, true));
      const first = await e1.apply(ref, outcomes(e1, [ok(0)]));
      assert.equal(first.transition?.changed, true);
      const again = await e1.apply(ref, outcomes(e1, [ok(0)]));
      assert.equal(again.transition?.changed, false);
      assert.equal(again.transition?.duplicates, 1);
      const other = await e2.apply(ref, outcomes(e2, [ok(0)]));
      assert.equal(other.transition?.duplicates, 1);
      // A failure reported for a member that already succeeded is a contradiction: the first writer stands.
      const contra = await e2.apply(ref, outcomes(e2, [failed(0)]));
      assert.equal(contra.transition?.changed, false);
      const group = await e1.apply(ref, outcomes(e1, [failed(1), failed(1), ok(2), ok(0)]));
      assert.equal(group.transition?.duplicates, 2);
      const s = (await stateOf(store, ref)).state as BatchState;
      assert.deepEqual(
        { processed: s.processed, failed: s.failed, pending: s.total - s.processed, completed: s.completed },
        { processed: 3, failed: 1, pending: 1, completed: false },
      );
      assert.equal(s.failure?.message, "member 1 failed");
    });

    it("a crash after the write keeps the effects in the outbox; flushOutbox performs each exactly once", async () => {
      const ref: WorkflowRef = { kind: "batch", id: "crash" };
      const crashing = new RecordingSink();
      const e1 = new WorkflowEngine(store, crashing);
      await create(e1, ref, batchState("crash", 1));
      crashing.failNext = 1;
      await assert.rejects(e1.apply(ref, outcomes(e1, [ok(0)])), /simulated crash/);
      assert.deepEqual(crashing.performed, []);

      const { state, outbox } = await stateOf(store, ref);
      assert.equal((state as BatchState).completed, true, "the state write happened");
      const keys = outbox.map((e) => effectKey(e.effect));
      assert.deepEqual(keys.filter((k) => k.startsWith("pub:")).sort(), [
        "pub:crash_finally",
        "pub:crash_then",
      ]);
      assert.ok(keys.includes("evt:crash.batch_completed"));
      assert.ok(keys.includes("done:crash"));
      assert.ok(
        (await collect(store.listActive())).some((r) => r.id === "crash"),
        "still active",
      );

      // Too fresh for the reconciler: nothing happens yet.
      const reconcilerSink = new RecordingSink();
      const now = Date.now();
      const fresh = new WorkflowEngine(store, reconcilerSink, { now: () => now });
      assert.equal(await fresh.flushOutbox(ref, 60_000), 0);
      assert.deepEqual(reconcilerSink.performed, []);
      // A restarted process (empty memory), later: performs every entry once and clears the outbox.
      const later = new WorkflowEngine(store, reconcilerSink, { now: () => now + 10_000 });
      assert.equal(await later.flushOutbox(ref, 5_000), keys.length);
      assert.deepEqual(reconcilerSink.keys().sort(), [...keys].sort());
      assert.deepEqual((await stateOf(store, ref)).outbox, []);
      assert.ok(!(await collect(store.listActive())).some((r) => r.id === "crash"), "no longer active");
      assert.equal(await later.flushOutbox(ref, 5_000), 0, "a second flush has nothing to do");
      // A late duplicate outcome republishes nothing either.
      await later.apply(ref, outcomes(later, [ok(0)]));
      assert.equal(reconcilerSink.performed.length, keys.length);
    });

    it("after a crash the next apply performs the left-over effects once, with its own", async () => {
      const ref: WorkflowRef = { kind: "chain", id: "next" };
      const sink = new RecordingSink();
      const e1 = new WorkflowEngine(store, sink);
      await create(e1, ref, chainState("next", ["a", "b", "c"]));
      sink.failNext = 1;
      await assert.rejects(e1.apply(ref, outcomes(e1, [ok(0)])), /simulated crash/);
      const left = (await stateOf(store, ref)).outbox.map((e) => effectKey(e.effect));
      assert.deepEqual(left.sort(), ["evt:next.chain_advanced.0", "pub:next_n1"]);

      await e1.apply(ref, outcomes(e1, [ok(1)]));
      // The left-over event is performed; the left-over publication of node 1 was overtaken (node 1 has its
      // outcome) and is dropped rather than published late.
      assert.deepEqual(
        tally(sink.keys()),
        tally(["evt:next.chain_advanced.0", "evt:next.chain_advanced.1", "pub:next_n2"]),
      );
      // The same engine never republishes what it performed (a duplicate outcome writes nothing).
      await e1.apply(ref, outcomes(e1, [ok(1)]));
      assert.equal(sink.performed.length, 3);

      // A second process takes over (empty memory): each effect still in the record is performed once by it
      // (a republish, deduplicated by msg id downstream), then the chain ends.
      const sink2 = new RecordingSink();
      const e2 = new WorkflowEngine(store, sink2);
      await e2.apply(ref, outcomes(e2, [ok(2)]));
      const counts = tally(sink2.keys());
      assert.ok(
        [...counts.values()].every((n) => n === 1),
        `each once: ${JSON.stringify([...counts])}`,
      );
      assert.ok(counts.has("evt:next.chain_completed") && counts.has("pub:next_finally"));
      const s = (await stateOf(store, ref)).state as ChainState;
      assert.deepEqual([s.nextIndex, s.completed, s.failed], [3, true, false]);
    });
  });
}

engineContract(memoryFactory);
engineContract(kvFactory(() => nc));

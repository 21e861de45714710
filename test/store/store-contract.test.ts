/**
 * @module
 * The `WorkflowStore` contract, one suite run against both implementations: `MemoryStore` and `KvWorkflowStore` on a
 * real nats-server (a fresh bucket per test). Revision-checked writes, create-if-absent, stale revisions,
 * removal with and without a revision, listing, and the active index.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import {
  RevisionConflictError,
  type StoredWorkflow,
  type WorkflowRef,
  type WorkflowStore,
} from "../../shared/workflow/store.ts";
import {
  batchState,
  chainState,
  collect,
  kvFactory,
  memoryFactory,
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

const chainRef = (id: string): WorkflowRef => ({ kind: "chain", id });
const batchRef = (id: string): WorkflowRef => ({ kind: "batch", id });
const stored = (id: string): StoredWorkflow => ({ state: chainState(id), outbox: [] });
const sortRefs = (refs: WorkflowRef[]) =>
  refs.map((r) => `${r.kind}.${r.id}`).sort((a, b) => a.localeCompare(b));

function storeContract(factory: StoreFactory): void {
  describe(`WorkflowStore contract: ${factory.name}`, () => {
    let store: WorkflowStore;
    before(async () => {
      store = await factory.make();
    });

    it("reads null for an absent record", async () => {
      assert.equal(await store.read(chainRef("absent")), null);
      assert.equal(await store.read(batchRef("absent")), null);
    });

    it("writes with create-if-absent and reads the value back with its revision", async () => {
      const value: StoredWorkflow = {
        state: batchState("b-rw", 3),
        outbox: [{ effect: { type: "cancel", batchId: "b-rw" }, at: 42 }],
      };
      const rev = await store.write(batchRef("b-rw"), value, null);
      assert.ok(Number.isInteger(rev) && rev > 0, `revision ${rev}`);
      const r = await store.read(batchRef("b-rw"));
      assert.ok(r);
      assert.equal(r.revision, rev);
      assert.deepEqual(r.value, value);
      // Same id, other kind: a different record.
      assert.equal(await store.read(chainRef("b-rw")), null);
    });

    it("returns copies: changing what was read or written changes nothing stored", async () => {
      const value = stored("c-copy");
      await store.write(chainRef("c-copy"), value, null);
      value.state.updatedAt = -1;
      const r1 = await store.read(chainRef("c-copy"));
      assert.ok(r1);
      assert.notEqual(r1.value.state.updatedAt, -1);
      r1.value.outbox.push({ effect: { type: "cancel", batchId: "x" }, at: 1 });
      assert.deepEqual((await store.read(chainRef("c-copy")))!.value.outbox, []);
    });

    it("rejects a create when the record exists (RevisionConflictError, CONFLICT, retryable)", async () => {
      const rev = await store.write(chainRef("c-create"), stored("c-create"), null);
      const err = await store.write(chainRef("c-create"), stored("c-create"), null).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RevisionConflictError, `got ${String(err)}`);
      assert.equal(err.code, "CONFLICT");
      assert.equal(err.retryable, true);
      assert.equal((await store.read(chainRef("c-create")))!.revision, rev, "the record is unchanged");
    });

    it("updates only at the current revision; a stale revision is a conflict and loses nothing", async () => {
      const ref = chainRef("c-stale");
      const r0 = await store.write(ref, stored("c-stale"), null);
      const v1 = stored("c-stale");
      v1.state.updatedAt = 2_000;
      const r1 = await store.write(ref, v1, r0);
      assert.ok(r1 > r0, `new revision ${r1} > ${r0}`);
      const v2 = stored("c-stale");
      v2.state.updatedAt = 3_000;
      await assert.rejects(store.write(ref, v2, r0), RevisionConflictError);
      await assert.rejects(store.write(ref, v2, r1 + 1000), RevisionConflictError);
      const now = await store.read(ref);
      assert.equal(now!.revision, r1);
      assert.equal(now!.value.state.updatedAt, 2_000, "the first writer's value stands");
      const r2 = await store.write(ref, v2, r1);
      assert.ok(r2 > r1);
      assert.equal((await store.read(ref))!.value.state.updatedAt, 3_000);
    });

    it("an update of an absent record is a conflict", async () => {
      await assert.rejects(store.write(chainRef("never"), stored("never"), 1), RevisionConflictError);
      assert.equal(await store.read(chainRef("never")), null);
    });

    it("removes at the expected revision only; a stale revision returns false and keeps the record", async () => {
      const ref = batchRef("b-rm");
      const r0 = await store.write(ref, { state: batchState("b-rm", 1), outbox: [] }, null);
      const r1 = await store.write(ref, { state: batchState("b-rm", 2), outbox: [] }, r0);
      assert.equal(await store.remove(ref, r0), false);
      assert.equal((await store.read(ref))!.revision, r1);
      assert.equal(await store.remove(ref, r1), true);
      assert.equal(await store.read(ref), null);
      // A removed record can be created again (create-if-absent), and only once.
      const r2 = await store.write(ref, { state: batchState("b-rm", 3), outbox: [] }, null);
      assert.ok(r2 > 0);
      assert.equal((await store.read(ref))!.value.state.kind, "batch");
      await assert.rejects(
        store.write(ref, { state: batchState("b-rm", 3), outbox: [] }, null),
        RevisionConflictError,
      );
      // An old revision from before the removal is stale.
      await assert.rejects(
        store.write(ref, { state: batchState("b-rm", 4), outbox: [] }, r1),
        RevisionConflictError,
      );
    });

    it("removes without a revision; removing an absent record returns false", async () => {
      const ref = chainRef("c-rm");
      await store.write(ref, stored("c-rm"), null);
      assert.equal(await store.remove(ref), true);
      assert.equal(await store.read(ref), null);
      assert.equal(await store.remove(ref), false, "already gone");
      assert.equal(await store.remove(chainRef("c-never")), false, "never existed");
      assert.equal(await store.remove(chainRef("c-never"), 7), false, "never existed, with a revision");
    });

    it("lists every record of both kinds, and no removed one", async () => {
      const fresh = await factory.make();
      await fresh.write(chainRef("l1"), stored("l1"), null);
      await fresh.write(chainRef("l2"), stored("l2"), null);
      await fresh.write(batchRef("l3"), { state: batchState("l3", 1), outbox: [] }, null);
      const gone = await fresh.write(batchRef("l4"), { state: batchState("l4", 1), outbox: [] }, null);
      assert.equal(await fresh.remove(batchRef("l4"), gone), true);
      assert.deepEqual(sortRefs(await collect(fresh.list())), ["batch.l3", "chain.l1", "chain.l2"]);
      // setActive keys are not records.
      await fresh.setActive(chainRef("l1"), true);
      assert.deepEqual(sortRefs(await collect(fresh.list())), ["batch.l3", "chain.l1", "chain.l2"]);
    });

    it("keeps the active index: set, set again (listed once), clear, clear an absent one", async () => {
      const fresh = await factory.make();
      assert.deepEqual(await collect(fresh.listActive()), []);
      await fresh.setActive(chainRef("a1"), true);
      await fresh.setActive(chainRef("a1"), true);
      await fresh.setActive(batchRef("a2"), true);
      await fresh.setActive(batchRef("a3"), true);
      assert.deepEqual(sortRefs(await collect(fresh.listActive())), ["batch.a2", "batch.a3", "chain.a1"]);
      await fresh.setActive(batchRef("a2"), false);
      await fresh.setActive(chainRef("not-there"), false);
      assert.deepEqual(sortRefs(await collect(fresh.listActive())), ["batch.a3", "chain.a1"]);
      // The index is independent of the records.
      assert.equal(await fresh.read(chainRef("a1")), null);
      assert.deepEqual(await collect(fresh.list()), []);
    });
  });
}

storeContract(memoryFactory);
storeContract(kvFactory(() => nc));

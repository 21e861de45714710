/**
 * @module
 * The Go `bus` package's chain acceptance cases, end to end through the mesh (dispatcher + coordinator in-process,
 * worker in-process via bus.register): order, terminal-attempt semantics with retries, failure callbacks with
 * the chain state and error, no rerun of a predecessor, findChain fields, duplicate callback messages, and
 * a chain that stays correct with several coordinator replicas.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import {
  job,
  JetbusError,
  NotFoundError,
  PermanentError,
  ValidationError,
  type Bus,
} from "../../shared/index.ts";
import { startInProcess, startMesh, type InProcessService, type Mesh } from "../helpers/mesh.ts";
import {
  claimed,
  ncOf,
  queueSettled,
  rawState,
  waitChain,
  workflowSettled,
} from "../helpers/workflow-kit.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus();
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

/** Registers fresh types: `types.x` is the unique name for x. */
function types<K extends string>(
  ...names: K[]
): Record<K, string> & { on(name: K, behaviour?: (ctx: never) => unknown): void } {
  const t = Object.fromEntries(names.map((n) => [n, uniq(`chain-${n}`)])) as Record<K, string>;
  return {
    ...t,
    on(name, behaviour) {
      bus.register(t[name], runs.handler(behaviour as never));
    },
  };
}

describe("chains through the mesh", () => {
  it("runs a 3-step chain in order, with the chain's ids in each context, then finally once", async () => {
    const t = types("a", "b", "c", "fin");
    for (const n of ["a", "b", "c", "fin"] as const) t.on(n);
    const id = await bus
      .chain(job(t.a, { step: 1 }), job(t.b, { step: 2 }), job(t.c, { step: 3 }))
      .finally(job(t.fin))
      .dispatch();
    const [fin] = await runs.waitCount(t.fin, 1);
    const steps = runs.all.filter((r) => r.chainId === id && !r.callback);
    assert.deepEqual(
      steps.map((r) => [r.type, r.jobId, r.payload]),
      [
        [t.a, `${id}_n0`, { step: 1 }],
        [t.b, `${id}_n1`, { step: 2 }],
        [t.c, `${id}_n2`, { step: 3 }],
      ],
    );
    assert.equal(fin!.callback, "finally");
    assert.equal(fin!.workflow?.kind, "chain");
    assert.deepEqual(fin!.workflow?.kind === "chain" && [fin!.workflow.completed, fin!.workflow.nextIndex], [
      true,
      3,
    ]);
    const c = await bus.findChain(id);
    assert.deepEqual(
      [c.chainId, c.nextIndex, c.completed, c.failed, c.failure, c.jobTypes],
      [id, 3, true, false, null, [t.a, t.b, t.c]],
    );
    assert.ok(c.createdAt <= c.updatedAt);
  });

  it("waits for the terminal attempt: retry(1) failing at attempt 0 and passing at 1 completes the chain", async () => {
    const t = types("flaky", "next", "catch", "fin");
    t.on("flaky", (ctx: { attempt: number }) => {
      if (ctx.attempt === 0) throw new Error("first attempt fails");
      return "ok";
    });
    for (const n of ["next", "catch", "fin"] as const) t.on(n);
    const id = await bus
      .chain(job(t.flaky).retry(1), job(t.next))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await runs.waitCount(t.fin, 1);
    await workflowSettled(ncOf(bus), "chain", id);
    assert.deepEqual(
      runs.of(t.flaky).map((r) => r.attempt),
      [0, 1],
    );
    assert.equal(runs.count(t.next), 1);
    const c = await bus.findChain(id);
    assert.deepEqual([c.completed, c.failed, c.nextIndex, c.failure], [true, false, 2, null]);
    assert.deepEqual(await claimed(ncOf(bus), "chain", id), ["finally"], "catch is never published");
    await queueSettled(ncOf(bus), t.fin);
    assert.equal(runs.count(t.catch), 0);
    assert.equal(runs.count(t.fin), 1);
  });

  it("fails only after retries are spent: 2 attempts, catch + finally once each, later nodes never run", async () => {
    const t = types("bad", "later", "catch", "fin");
    t.on("bad", (ctx: { attempt: number }) => {
      throw new Error(`always fails (attempt ${ctx.attempt})`);
    });
    for (const n of ["later", "catch", "fin"] as const) t.on(n);
    const id = await bus
      .chain(job(t.bad).retry(1), job(t.later))
      .catch(job(t.catch))
      .finally(job(t.fin))
      .dispatch();
    await runs.waitCount(t.catch, 1);
    await runs.waitCount(t.fin, 1);
    await workflowSettled(ncOf(bus), "chain", id);
    await queueSettled(ncOf(bus), t.catch);
    await queueSettled(ncOf(bus), t.fin);
    assert.deepEqual(
      runs.of(t.bad).map((r) => r.attempt),
      [0, 1],
    );
    assert.equal(runs.count(t.later), 0);
    assert.equal(runs.count(t.catch), 1);
    assert.equal(runs.count(t.fin), 1);
    const c = await bus.findChain(id);
    assert.deepEqual([c.failed, c.completed, c.nextIndex], [true, false, 0]);
    assert.match(c.failure?.message ?? "", /always fails \(attempt 1\)/, "the terminal attempt's error");
    // The catch job sees the error and the failed chain, with the failure kept.
    const [cat] = runs.of(t.catch);
    assert.ok(cat!.error instanceof JetbusError);
    assert.match(cat!.error.message, /always fails/);
    const w = cat!.workflow;
    assert.ok(w && w.kind === "chain");
    assert.deepEqual([w.chainId, w.failed, w.completed, w.nextIndex], [id, true, false, 0]);
    assert.match(w.failure?.message ?? "", /always fails/);
    assert.equal(cat!.callback, "catch");
    assert.equal(runs.of(t.fin)[0]!.error, undefined, "finally gets no error");
  });

  it("a downstream failure does not rerun the predecessor", async () => {
    const t = types("first", "second", "third", "catch");
    t.on("first");
    t.on("second", () => {
      throw new PermanentError("second step broke");
    });
    t.on("third");
    t.on("catch");
    const id = await bus
      .chain(job(t.first), job(t.second).retry(3), job(t.third))
      .catch(job(t.catch))
      .dispatch();
    await runs.waitCount(t.catch, 1);
    await workflowSettled(ncOf(bus), "chain", id);
    await queueSettled(ncOf(bus), t.first);
    assert.equal(runs.count(t.first), 1);
    assert.equal(runs.count(t.second), 1, "PermanentError ends retries at once");
    assert.equal(runs.count(t.third), 0);
    const c = await bus.findChain(id);
    assert.deepEqual([c.failed, c.completed, c.nextIndex], [true, false, 1]);
    assert.equal(c.failure?.code, "PERMANENT");
    assert.equal(c.failure?.message, "second step broke");
    const cat = runs.of(t.catch)[0]!;
    assert.equal(cat.error?.code, "PERMANENT");
    assert.equal(cat.workflow?.kind === "chain" && cat.workflow.failure?.message, "second step broke");
  });

  it("findChain: NotFoundError for an unknown id; an empty chain is a ValidationError", async () => {
    await assert.rejects(bus.findChain("chn_does_not_exist"), NotFoundError);
    await assert.rejects(bus.findChain("chn_does_not_exist"), { code: "NOT_FOUND" });
    assert.throws(() => bus.chain(), ValidationError);
    assert.throws(() => bus.chain(), /at least one job/);
  });

  it("a chain builder is immutable and not a promise", async () => {
    const t = types("x", "fin");
    const base = bus.chain(job(t.x));
    const withQueue = base.onQueue("other");
    const withFinally = base.finally(job(t.fin));
    assert.notEqual(withQueue, base);
    assert.notEqual(withFinally, base);
    // Dispatching each shows what it holds: the base kept no queue and no callback.
    const nc = ncOf(bus);
    const [b, q, f] = await Promise.all([base.dispatch(), withQueue.dispatch(), withFinally.dispatch()]);
    const [sb, sq, sf] = await Promise.all([b, q, f].map((id) => rawState(nc, "chain", id)));
    assert.deepEqual([sb!.queue, sb!.callbacks], ["default", {}]);
    assert.deepEqual([sq!.queue, sq!.callbacks], ["other", {}]);
    assert.deepEqual([sf!.queue, sf!.callbacks.finally?.type], ["default", t.fin]);
    assert.throws(() => base.then(() => undefined), /did you forget \.dispatch\(\)\?/);
    await assert.rejects(async () => {
      await (base as unknown as Promise<unknown>);
    }, /did you forget \.dispatch\(\)\?/);
  });

  it("a duplicate of a callback job message (same msg id) is dropped by JetStream: finally runs once", async () => {
    const t = types("a", "fin");
    t.on("a");
    const nc = ncOf(bus);
    // Capture the finally job as it is published (core subscription on its subject), before it exists.
    const captured: { subject: string; data: Uint8Array; msgId: string }[] = [];
    const sub = nc.subscribe(`jetbus.jobs.default.${t.fin}`, {
      callback: (_err, m) => {
        captured.push({ subject: m.subject, data: m.data, msgId: m.headers?.get("Nats-Msg-Id") ?? "" });
      },
    });
    await nc.flush();
    const id = await bus.chain(job(t.a)).finally(job(t.fin)).dispatch();
    await waitChain(bus, id, (c) => c.completed);
    await workflowSettled(nc, "chain", id);
    sub.unsubscribe();
    assert.equal(captured.length, 1, "the coordinator published finally exactly once");
    assert.equal(captured[0]!.msgId, `${id}_finally`, "with a deterministic msg id");
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) {
      const ack = await js.publish(captured[0]!.subject, captured[0]!.data, { msgID: captured[0]!.msgId });
      assert.equal(ack.duplicate, true);
    }
    t.on("fin");
    await runs.waitCount(t.fin, 1);
    await queueSettled(nc, t.fin);
    assert.equal(runs.count(t.fin), 1);
    assert.deepEqual(await claimed(nc, "chain", id), ["finally"]);
  });

  it("stays correct with three coordinator replicas (outcomes of one chain land on different replicas)", async () => {
    const extra: InProcessService[] = [];
    try {
      for (let i = 0; i < 2; i++) extra.push(await startInProcess("coordinator", mesh.url));
      const t = types("step", "fin");
      t.on("step");
      t.on("fin");
      const ids = await Promise.all(
        Array.from({ length: 4 }, () =>
          bus
            .chain(...Array.from({ length: 10 }, (_, i) => job(t.step, { i })))
            .finally(job(t.fin))
            .dispatch(),
        ),
      );
      await runs.waitCount(t.fin, 4, 20_000);
      for (const id of ids) {
        const c = await bus.findChain(id);
        assert.deepEqual([c.completed, c.nextIndex], [true, 10]);
        const order = runs.all.filter((r) => r.chainId === id && !r.callback).map((r) => r.payload);
        assert.deepEqual(
          order,
          Array.from({ length: 10 }, (_, i) => ({ i })),
        );
      }
    } finally {
      await Promise.all(extra.map((s) => s.stop()));
    }
  });
});

/**
 * @module
 * One span tree per workflow, in-process (this file's ONE OpenTelemetry SDK, exporting to memory): a 3-node
 * chain is `send chain` → `send node` → `process` → `advance chain` → … → the finally callback, exactly; a
 * 3-member batch has its members' deliveries under `send batch`, `settle batch` transitions under the
 * members, and then/finally `send` spans that link to every member with `jetbus.batch.members_total`; a batch
 * of more members links to at most 128 of them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import {
  assertDestinations,
  jobAttrs,
  n,
  one,
  processAttrs,
  render,
  startMemoryTracing,
  treeOf,
  type FlatSpan,
} from "../helpers/span-tree.ts";
import { uniq } from "../helpers/names.ts";

const tracing = startMemoryTracing();
let mesh: Mesh;
let bus: Bus;
const Q = "default";
const dest = (type: string) => `jobs.${Q}.${type}`;

// One bus both dispatches and works: the trees below do not depend on which process sends.
before(async () => ({ mesh, worker: bus } = await startClientAndWorker()));
after(async () => {
  await mesh?.stop();
  await tracing.shutdown();
});

describe("span tree of a workflow", () => {
  it("a 3-node chain: send chain → send node → process → advance chain → … → finally", async () => {
    const [a, b, c, fin] = ["a", "b", "c", "fin"].map((x) => uniq(`tel-chain-${x}`)) as [
      string,
      string,
      string,
      string,
    ];
    for (const t of [a, b, c, fin]) bus.register(t, () => "ok");
    const chainId = await bus.chain(job(a), job(b), job(c)).finally(job(fin)).dispatch();
    const all = await tracing.traceWhere(
      "the chain's 13 spans",
      (s) => s.name === "send chain" && s.attributes["jetbus.chain_id"] === chainId,
      (t) => t.length >= 13 && t.some((s) => s.name === "record chain callback"),
    );
    const root = one(all, "send chain", (s) => s.name === "send chain");
    assert.equal(root.parentSpanId, "");
    const step = (type: string, next: ReturnType<typeof n>[]) =>
      n(`send ${dest(type)}`, "PRODUCER", [n(`process ${dest(type)}`, "CONSUMER", next)]);
    assert.deepEqual(
      treeOf(all, root),
      n("send chain", "PRODUCER", [
        step(a, [
          n("advance chain", "INTERNAL", [
            step(b, [
              n("advance chain", "INTERNAL", [
                step(c, [
                  n("advance chain", "INTERNAL", [step(fin, [n("record chain callback", "INTERNAL")])]),
                ]),
              ]),
            ]),
          ]),
        ]),
      ]),
      render(all),
    );
    assert.equal(all.length, 13, render(all));
    assertDestinations(all);

    const dispatchId = root.attributes["jetbus.dispatch_id"];
    assert.match(String(dispatchId), /^dsp_/);
    assert.deepEqual(root.attributes, {
      "messaging.system": "nats",
      "messaging.operation.type": "send",
      "messaging.operation.name": "publish",
      "messaging.destination.name": "chain",
      "messaging.message.id": chainId,
      "messaging.message.conversation_id": chainId,
      "jetbus.dispatch_id": dispatchId,
      "jetbus.chain_id": chainId,
      "jetbus.queue": Q,
    });
    const chainIds = { "jetbus.chain_id": chainId, "messaging.message.conversation_id": chainId };
    for (const [i, t] of [a, b, c].entries()) {
      const ids = {
        ...chainIds,
        "jetbus.dispatch_id": dispatchId,
        "messaging.message.id": `${chainId}_n${i}`,
      };
      const send = one(all, `send ${t}`, (s) => s.name === `send ${dest(t)}`);
      assert.deepEqual(send.attributes, jobAttrs("send", Q, t, ids));
      const proc = one(all, `process ${t}`, (s) => s.name === `process ${dest(t)}`);
      assert.deepEqual(
        processAttrs(proc),
        jobAttrs("process", Q, t, { ...ids, "jetbus.attempt": 0, "jetbus.outcome": "succeeded" }),
      );
    }
    const finIds = {
      ...chainIds,
      "jetbus.dispatch_id": dispatchId,
      "jetbus.callback": "finally",
      "messaging.message.id": `${chainId}_finally`,
    };
    const finSend = one(all, "send finally", (s) => s.name === `send ${dest(fin)}`);
    assert.deepEqual(finSend.attributes, jobAttrs("send", Q, fin, finIds));
    const finProc = one(all, "process finally", (s) => s.name === `process ${dest(fin)}`);
    assert.deepEqual(
      processAttrs(finProc),
      jobAttrs("process", Q, fin, { ...finIds, "jetbus.attempt": 0, "jetbus.outcome": "succeeded" }),
    );
    const advances = all.filter((s) => s.name === "advance chain");
    assert.deepEqual(advances.map((s) => s.attributes["jetbus.workflow.state"]).sort(), [
      "completed",
      "running",
      "running",
    ]);
    for (const s of [...advances, one(all, "record", (x) => x.name === "record chain callback")])
      assert.deepEqual(
        { ...s.attributes, "jetbus.workflow.state": undefined },
        { ...chainIds, "jetbus.outcomes": 1, "jetbus.workflow.state": undefined },
      );
  });

  it("a 3-member batch: members under send batch; then/finally link to the 3 members", async () => {
    const [m, then, fin] = ["m", "then", "fin"].map((x) => uniq(`tel-batch-${x}`)) as [
      string,
      string,
      string,
    ];
    for (const t of [m, then, fin]) bus.register(t, () => "ok");
    const batchId = await bus
      .batch(job(m, { i: 0 }), job(m, { i: 1 }), job(m, { i: 2 }))
      .then(job(then))
      .finally(job(fin))
      .dispatch();
    const records = (t: FlatSpan[]) =>
      t
        .filter((s) => s.name === "record batch callback")
        .reduce((sum, s) => sum + (s.attributes["jetbus.outcomes"] as number), 0);
    const all = await tracing.traceWhere(
      "the batch's spans, up to both callbacks recorded",
      (s) => s.name === "send batch" && s.attributes["jetbus.batch_id"] === batchId,
      (t) => records(t) >= 2,
    );
    assertDestinations(all);
    const root = one(all, "send batch", (s) => s.name === "send batch");
    assert.equal(root.parentSpanId, "");
    const dispatchId = root.attributes["jetbus.dispatch_id"];
    const batchIds = { "jetbus.batch_id": batchId, "messaging.message.conversation_id": batchId };
    assert.deepEqual(root.attributes, {
      "messaging.system": "nats",
      "messaging.operation.type": "send",
      "messaging.operation.name": "publish",
      "messaging.destination.name": "batch",
      "messaging.message.id": batchId,
      "jetbus.dispatch_id": dispatchId,
      "jetbus.queue": Q,
      ...batchIds,
    });

    const members = all.filter((s) => s.name === `process ${dest(m)}`);
    assert.equal(members.length, 3, render(all));
    for (const [i, s] of members.sort((x, y) => sortById(x, y)).entries()) {
      assert.equal(s.parentSpanId, root.spanId, "a member's delivery is a child of the batch's dispatch");
      assert.deepEqual(
        processAttrs(s),
        jobAttrs("process", Q, m, {
          ...batchIds,
          "jetbus.dispatch_id": dispatchId,
          "messaging.message.id": `${batchId}_m${i}`,
          "jetbus.attempt": 0,
          "jetbus.outcome": "succeeded",
        }),
      );
    }
    // Outcomes may reach the coordinator in one group or several: one settle span per group, a child of the
    // group's first member and linked to the others; together they cover the 3 members.
    const settles = all.filter((s) => s.name === "settle batch");
    const memberIds = new Set(members.map((s) => s.spanId));
    assert.ok(settles.length >= 1 && settles.length <= 3, render(all));
    assert.deepEqual(
      settles.flatMap((s) => [s.parentSpanId, ...s.links.map((l) => l.spanId)]).sort(),
      [...memberIds].sort(),
    );
    for (const s of settles) assert.equal(s.kind, "INTERNAL");
    const completing = one(
      settles,
      "completing settle",
      (s) => s.attributes["jetbus.workflow.state"] === "completed",
    );

    for (const [kind, type] of [
      ["then", then],
      ["finally", fin],
    ] as const) {
      const send = one(all, `send ${kind}`, (s) => s.name === `send ${dest(type)}`);
      assert.equal(send.parentSpanId, completing.spanId, `${kind} is sent under the completing transition`);
      const ids = {
        ...batchIds,
        "jetbus.dispatch_id": dispatchId,
        "jetbus.callback": kind,
        "messaging.message.id": `${batchId}_${kind}`,
      };
      assert.deepEqual(
        send.attributes,
        jobAttrs("send", Q, type, { ...ids, "jetbus.batch.members_total": 3 }),
      );
      assert.deepEqual(send.links.map((l) => l.spanId).sort(), [...memberIds].sort(), `${kind} links`);
      for (const l of send.links) assert.equal(l.traceId, root.traceId);
      const proc = one(all, `process ${kind}`, (s) => s.name === `process ${dest(type)}`);
      assert.equal(proc.parentSpanId, send.spanId);
      assert.deepEqual(
        processAttrs(proc),
        jobAttrs("process", Q, type, { ...ids, "jetbus.attempt": 0, "jetbus.outcome": "succeeded" }),
      );
    }
    const recorded = all.filter((s) => s.name === "record batch callback");
    const callbackProcs = all.filter((s) => s.attributes["jetbus.callback"] && s.kind === "CONSUMER");
    for (const r of recorded)
      assert.ok(
        callbackProcs.some((p) => p.spanId === r.parentSpanId),
        "recorded under a callback's run",
      );
    assert.equal(all.length, 1 + 3 + settles.length + 4 + recorded.length, render(all));
  });
});

describe("span links of a big batch", () => {
  it("a batch of 130 members: its finally span links to 128 member spans, members_total 130", async () => {
    const [m, fin] = ["m", "fin"].map((x) => uniq(`tel-big-${x}`)) as [string, string];
    for (const t of [m, fin]) bus.register(t, () => "ok");
    const jobs = Array.from({ length: 130 }, (_, i) => job(m, { i }));
    const batchId = await bus
      .batch(...jobs)
      .finally(job(fin))
      .dispatch();
    const all = await tracing.traceWhere(
      "the finally span of the big batch",
      (s) => s.name === "send batch" && s.attributes["jetbus.batch_id"] === batchId,
      (t) => t.some((s) => s.name === `process ${dest(fin)}`),
    );
    const members = new Set(all.filter((s) => s.name === `process ${dest(m)}`).map((s) => s.spanId));
    assert.equal(members.size, 130);
    const send = one(all, "send finally", (s) => s.name === `send ${dest(fin)}`);
    assert.equal(send.attributes["jetbus.batch.members_total"], 130);
    assert.equal(send.links.length, 128);
    assert.equal(new Set(send.links.map((l) => l.spanId)).size, 128, "128 distinct members");
    for (const l of send.links) assert.ok(members.has(l.spanId), "a link names a member's delivery");
  });
});

function sortById(a: FlatSpan, b: FlatSpan): number {
  return String(a.attributes["messaging.message.id"]).localeCompare(
    String(b.attributes["messaging.message.id"]),
  );
}

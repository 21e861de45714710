/**
 * @module
 * Every reader survives every message (issue 12, item 2). While a batch runs, garbage of each kind (not JSON,
 * `null`, an empty object, the wrong version, a wrong shape, forged outcomes that can never be true) goes to
 * each subject and bucket anyone may write: outcomes, dead letters, events, done notices, results, the worker
 * registry. Then every tool still works — `bus.deadLetters.list()` (a bad entry shows as `unreadable`),
 * `jetbus dlq list` and `jetbus queues`, `bus.observe`, `bus.wait` — and the batch completes exactly, with
 * `then` once; the forged outcomes are dead-lettered as `outcome_refused` and never counted.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Kvm } from "@nats-io/kv";
import { memberJobId } from "../../shared/core/ids.ts";
import { job, type Bus } from "../../shared/index.ts";
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { runCli } from "../helpers/cli.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";
import { collectEvents, ncOf, queueSettled, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus({ concurrency: 4 });
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

const GARBAGE = [
  "\u0000not json{",
  "null",
  "{}",
  '{"v":99}',
  "[1,2,3]",
  '{"v":1,"outcomes":5,"events":null}',
];

async function invalidCount(source: string): Promise<number> {
  const m = await metrics.invalidMessages.get();
  return m.values.filter((v) => v.labels.source === source).reduce((n, v) => n + v.value, 0);
}

describe("every reader survives every message", () => {
  it("garbage on every subject while a batch runs: tools work, the batch completes exactly", async () => {
    const nc = ncOf(bus);
    const member = uniq("garbage-m");
    const then = uniq("garbage-then");
    const plain = uniq("garbage-plain");
    bus.register(
      member,
      runs.handler(async () => {
        await sleep(40);
        return "ok";
      }),
    );
    bus.register(then, runs.handler());
    bus.register(plain, () => ({ plain: true }));
    const events = await collectEvents(bus);
    const workersBefore = await invalidCount("workers");

    const total = 40;
    const batchId = await bus
      .batch(...Array.from({ length: total }, () => job(member)))
      .then(job(then))
      .dispatch();
    const waited = bus.wait(batchId, { timeout: 30_000 });
    await runs.waitCount(member, 1);

    // Garbage of each kind to each subject anyone may publish on.
    const { dispatchId } = await bus.dispatch(job(plain));
    const targets = [
      subjects.outcomes("garbage"),
      subjects.deadLetter("default", member),
      subjects.events("job", "garbage"),
      subjects.events("batch", "garbage"),
      subjects.done(batchId),
      subjects.done(dispatchId),
      resultSubject(dispatchId)!,
    ];
    for (const subject of targets) for (const g of GARBAGE) nc.publish(subject, g);
    // Forged outcomes, well-formed but impossible: a member past the batch, another member's job id, an
    // attempt past the retries (status failed: counted, it would cancel the batch).
    const forged = (index: number, over: Partial<OutcomeEntry> = {}): OutcomeEntry => ({
      job_id: memberJobId(batchId, index),
      dispatch_id: "dsp_forged",
      type: member,
      queue: "default",
      attempt: 0,
      status: "failed",
      error: { code: "FORGED", message: "forged", retryable: false },
      started_at: 1,
      finished_at: 2,
      batch: { id: batchId, index },
      ...over,
    });
    nc.publish(
      subjects.outcomes("garbage"),
      JSON.stringify({
        v: 1,
        outcomes: [
          forged(999, { job_id: memberJobId(batchId, 999) }),
          forged(total - 1, { job_id: memberJobId(batchId, 0) }),
          forged(total - 1, { attempt: 77 }),
        ],
      }),
    );
    // The worker registry: a record with "serves": 5, and one that is not JSON.
    const workers = await new Kvm(nc).open(BUCKETS.workers);
    await workers.put(
      keys.worker("wrk_garbage"),
      JSON.stringify({
        v: 1,
        id: "wrk_garbage",
        host: "h",
        pid: 1,
        started_at: 1,
        heartbeat_at: Date.now(),
        heartbeat_ms: 1000,
        serves: 5,
      }),
    );
    await workers.put(keys.worker("wrk_garbage2"), "\u0000not json");
    await nc.flush();

    // The batch completes exactly: every member once, then once, the forged outcomes never counted.
    const outcome = await waited;
    assert.equal(outcome.status, "succeeded");
    const b = await waitBatch(bus, batchId, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.failed, b.cancelled], [total, total, 0, false]);
    await workflowSettled(nc, "batch", batchId);
    await queueSettled(nc, then);
    assert.equal(runs.count(then), 1);
    assert.equal(runs.count(member), total);

    // bus.wait of a plain job, with garbage on its done subject and its results subject.
    const plainOutcome = await bus.wait(dispatchId, { timeout: 15_000 });
    assert.deepEqual(plainOutcome.status === "succeeded" && plainOutcome.result, { plain: true });

    // bus.observe kept going past the garbage on the events subjects.
    await waitFor("batch_completed to be observed", () =>
      events.events.some((e) => e.kind === "batch_completed" && e.batchId === batchId),
    );
    await events.stop();

    // Dead letters: the garbage shows as unreadable entries, the refused outcomes with their reason.
    const letters = await bus.deadLetters.list({ limit: 500 });
    const unreadable = letters.filter((d) => d.reason === "unreadable");
    assert.equal(unreadable.length, GARBAGE.length, "each garbage message on jetbus.dlq.* shows as such");
    assert.ok(unreadable.some((d) => d.raw?.includes("not json")));
    const refused = await waitFor("the refused outcomes to be dead-lettered", async () => {
      const r = (await bus.deadLetters.list({ limit: 500 })).filter((d) => d.reason === "outcome_refused");
      return r.length === 3 ? r : null;
    });
    assert.deepEqual(
      refused.map((d) => d.error.code),
      ["OUTCOME_REFUSED", "OUTCOME_REFUSED", "OUTCOME_REFUSED"],
    );
    const dlq = await runCli(["dlq", "list", "--limit", "500"], mesh.url);
    assert.equal(dlq.code, 0, dlq.stderr);
    assert.match(dlq.stdout, /unreadable/);

    // The worker registry: its readers skip the bad records (counted) and `jetbus queues` works.
    await waitFor(
      "the bad worker records to be skipped",
      async () => (await invalidCount("workers")) > workersBefore,
    );
    const queues = await runCli(["queues"], mesh.url);
    assert.equal(queues.code, 0, queues.stderr);
    assert.match(queues.stdout, new RegExp(member));
    assert.ok((await invalidCount("outcomes")) >= 1, "undecodable outcome messages are counted");
  });
});

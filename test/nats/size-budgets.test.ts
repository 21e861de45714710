/**
 * @module
 * The two writers that pack many entries into one message, against a real nats-server: the worker's outcome
 * reporter (an entry that fits no message fails alone; a message the server refuses for size is split, never
 * retried forever) and the coordinator's result writer (results batches packed by bytes, msg ids from content,
 * the recent set filled only on commit, future-dated ids kept on their own).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ResultWriter } from "../../services/coordinator/result-writer.ts";
import { provisionTopology, type Buckets } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { findResult } from "../../shared/nats/result-reader.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { newId } from "../../shared/ids.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { CLOCK_SKEW_MS } from "../../shared/protocol/results.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import { OutcomeReporter, OutcomeTooLargeError } from "../../shared/worker/outcome-reporter.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let buckets: Buckets;
let publisher: JetStreamPublisher;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  buckets = (await provisionTopology(nc, jsm, DEFAULT_TOPOLOGY, createLogger("test", "silent"))).buckets;
  publisher = new JetStreamPublisher(nc);
});

after(async () => {
  publisher?.close();
  await nc?.close();
  await server?.stop();
});

const KB = 1024;
let seq = 0;

function entry(resultBytes: number, dispatchId = newId("dsp")): OutcomeEntry {
  const n = ++seq;
  return {
    job_id: `job${n}`,
    dispatch_id: dispatchId,
    type: "t",
    queue: "default",
    attempt: 0,
    status: "succeeded",
    result: "r".repeat(resultBytes),
    started_at: 1,
    finished_at: 2,
  };
}

/** Every entry stored on `subject`, by job id. */
async function storedJobIds(stream: string, subject: string): Promise<string[]> {
  const ids: string[] = [];
  const si = await jsm.streams.info(stream, { subjects_filter: subject });
  for (let s = si.state.first_seq; s <= si.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s }).catch(() => null);
    if (m?.subject !== subject) continue;
    for (const o of m.json<{ outcomes: OutcomeEntry[] }>().outcomes) ids.push(o.job_id);
  }
  return ids.sort();
}

describe("OutcomeReporter packs by bytes", () => {
  it("an entry over the budget fails alone, at once; the others are packed under the budget", async () => {
    await jsm.streams.add({ name: "OUTA", subjects: ["outa.>"], storage: StorageType.Memory });
    const errors: unknown[] = [];
    const r = new OutcomeReporter(publisher, "outa.w", (e) => errors.push(e), { maxBytes: 100 * KB });
    const small = Array.from({ length: 6 }, () => entry(30 * KB));
    const big = entry(120 * KB);
    const results = await Promise.allSettled([...small, big].map((e) => r.report(e)));
    assert.deepEqual(
      results.map((x) => x.status),
      [...small.map(() => "fulfilled"), "rejected"],
    );
    const reason = (results[6] as PromiseRejectedResult).reason as unknown;
    assert.ok(reason instanceof OutcomeTooLargeError);
    assert.equal(reason.code, "RESULT_TOO_LARGE");
    assert.deepEqual(await storedJobIds("OUTA", "outa.w"), small.map((e) => e.job_id).sort());
    const si = await jsm.streams.info("OUTA");
    assert.ok(si.state.messages >= 2, "six 30 KB entries need more than one 100 KB message");
    assert.deepEqual(errors, []);
    await r.close();
  });

  it("a message the server refuses for its size is split; only the entry that fits nothing fails", async () => {
    // The stream's own limit is below what the reporter was told: every publish of the lot is refused.
    await jsm.streams.add({
      name: "OUTB",
      subjects: ["outb.>"],
      storage: StorageType.Memory,
      max_msg_size: 64 * KB,
    });
    const r = new OutcomeReporter(publisher, "outb.w", () => undefined, { maxBytes: 900 * KB });
    const small = Array.from({ length: 5 }, () => entry(20 * KB));
    const big = entry(100 * KB);
    const all = [small[0]!, small[1]!, big, small[2]!, small[3]!, small[4]!];
    const started = Date.now();
    const results = await Promise.allSettled(all.map((e) => r.report(e)));
    assert.deepEqual(
      results.map((x) => x.status),
      all.map((e) => (e === big ? "rejected" : "fulfilled")),
    );
    assert.ok((results[2] as PromiseRejectedResult).reason instanceof OutcomeTooLargeError);
    assert.deepEqual(await storedJobIds("OUTB", "outb.w"), small.map((e) => e.job_id).sort());
    assert.ok(Date.now() - started < 5_000, "no retry loop on a refusal that can never succeed");
    await r.close();
  });
});

describe("ResultWriter", () => {
  const find = (id: string) => findResult(jsm, buckets.results, id);

  it("packs many results of one subject by bytes, each part under the budget", async () => {
    const w = new ResultWriter(publisher, { maxBytes: 64 * KB });
    const now = Date.now();
    // One window and shard: ids that differ only in the middle, same last hex digit.
    const ids = Array.from(
      { length: 100 },
      (_, i) => `dsp_${now.toString(16).padStart(11, "0")}${i.toString(16).padStart(10, "0")}a0`,
    );
    const before = (await jsm.streams.info(STREAMS.results)).state;
    const recorded = await w.record(ids.map((id) => entry(1_500, id)));
    assert.equal(recorded.length, 100);
    const after = (await jsm.streams.info(STREAMS.results)).state;
    assert.ok(after.messages - before.messages >= 3, `${after.messages - before.messages} parts`);
    for (let s = before.last_seq + 1; s <= after.last_seq; s++) {
      const m = await jsm.streams.getMessage(STREAMS.results, { seq: s });
      assert.ok(m);
      assert.ok(m.data.length <= 64 * KB, `part ${s} is ${m.data.length} bytes`);
    }
    for (const id of [ids[0]!, ids[57]!, ids[99]!]) assert.equal((await find(id))?.dispatch_id, id);
  });

  it("two different groups (once told apart by a group id that can repeat) both store their results", async () => {
    // Two coordinators (or one, restarted) writing the same subject: the msg id comes from the body.
    const a = new ResultWriter(publisher);
    const b = new ResultWriter(publisher);
    const t = Date.now().toString(16).padStart(11, "0");
    const idA = `dsp_${t}00000000001b`;
    const idB = `dsp_${t}00000000002b`;
    await a.record([entry(10, idA)]);
    await b.record([entry(10, idB)]);
    assert.equal((await find(idA))?.dispatch_id, idA);
    assert.equal((await find(idB))?.dispatch_id, idB);
  });

  it("a group that failed before commit comes back as new; after commit it is a duplicate", async () => {
    const w = new ResultWriter(publisher);
    const outcomes = [entry(10), entry(10)];
    const first = await w.record(outcomes);
    assert.equal(first.length, 2);
    // The group failed later (a workflow write, an ack): no commit, so its redelivery is not a duplicate.
    const again = await w.record(outcomes);
    assert.equal(again.length, 2, "events and done notices will be sent for them");
    w.commit(again);
    assert.equal((await w.record(outcomes)).length, 0);
  });

  it("the same for a result kept on its own (an id not made by jetbus)", async () => {
    const w = new ResultWriter(publisher);
    const outcomes = [entry(10, `custom-${++seq}`)];
    assert.equal((await w.record(outcomes)).length, 1);
    assert.equal((await w.record(outcomes)).length, 1, "its own record, written by the failed try");
    w.commit(outcomes.map((outcome) => ({ outcome, recordJson: "" })));
    assert.equal((await w.record(outcomes)).length, 0);
    assert.equal(
      (await new ResultWriter(publisher).record(outcomes)).length,
      1,
      "another replica: already recorded, its notice sent again",
    );
  });

  it("an id dated past the clock-skew allowance gets a record of its own, which readers find", async () => {
    const w = new ResultWriter(publisher);
    const id = newId("dsp", Date.now() + 10 * CLOCK_SKEW_MS);
    await w.record([entry(10, id)]);
    assert.ok(await buckets.results.get(`${id}`).catch(() => null), "kept in jetbus-results");
    assert.equal((await find(id))?.dispatch_id, id);
  });
});

describe("EventBatcher packs events by bytes", () => {
  it("events carrying large errors go out in several messages, each under the budget", async () => {
    const before = (await jsm.streams.info(STREAMS.events)).state.last_seq;
    const batcher = new EventBatcher(publisher, "sizes", () => undefined, 500, 64 * KB);
    const error = { code: "PERMANENT", message: "e".repeat(8 * KB - 100), retryable: false };
    const events = Array.from({ length: 30 }, (_, i) => ({
      id: `b1.batch_progressed.${i}`,
      kind: "batch_progressed" as const,
      at: 1,
      batch_id: "b1",
      error,
    }));
    assert.equal(await batcher.add(events), true);
    const last = (await jsm.streams.info(STREAMS.events)).state.last_seq;
    assert.ok(last - before >= 4, `${last - before} messages for 240 KB of events`);
    let seen = 0;
    for (let s = before + 1; s <= last; s++) {
      const m = await jsm.streams.getMessage(STREAMS.events, { seq: s });
      assert.ok(m && m.data.length <= 64 * KB, `message ${s}`);
      seen += m.json<{ events: unknown[] }>().events.length;
    }
    assert.equal(seen, 30);
  });
});

/**
 * @module
 * The results index against a real nats-server: a subject is read once and then only from where the last read
 * ended, lookups that arrive together share a read, a batch stored just before a lookup is found, and memory
 * stays within its limits.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, type JetStreamManager } from "@nats-io/jetstream";
import { newId } from "../../shared/ids.ts";
import { ResultIndex, windowStartOf } from "../../shared/nats/result-index.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { dispatchTime, resultSubject } from "../../shared/protocol/results.ts";
import { ownServer } from "../helpers/own-server.ts";

const own = ownServer(async ({ jsm }) => {
  await jsm.streams.add({ name: STREAMS.results, subjects: ["jetbus.results.>"], allow_direct: true });
});

const record = (id: string, n: number) => ({
  v: 1,
  dispatch_id: id,
  job_id: id,
  type: "index:test",
  queue: "default",
  status: "succeeded",
  result: { n },
  attempts: 1,
  finished_at: Date.now(),
});

/** `count` ids of one results subject (same window, same shard). */
function idsOfOneSubject(count: number): string[] {
  const now = Date.now();
  const ids: string[] = [];
  const subject = resultSubject(newId("dsp", now))!;
  while (ids.length < count) {
    const id = newId("dsp", now);
    if (resultSubject(id) === subject) ids.push(id);
  }
  return ids;
}

async function store(ids: readonly string[], perBatch: number): Promise<void> {
  const js = jetstream(own.nc);
  for (let i = 0; i < ids.length; i += perBatch) {
    const results = ids.slice(i, i + perBatch).map((id, j) => record(id, i + j));
    await js.publish(resultSubject(ids[0]!)!, JSON.stringify({ v: 1, results }));
  }
}

/** A JetStreamManager whose direct batch reads are counted. */
function counting(): { jsm: JetStreamManager; reads: () => number } {
  let reads = 0;
  const direct = {
    getBatch: (...a: Parameters<JetStreamManager["direct"]["getBatch"]>) => {
      reads++;
      return own.jsm.direct.getBatch(...a);
    },
    getMessage: (...a: Parameters<JetStreamManager["direct"]["getMessage"]>) =>
      own.jsm.direct.getMessage(...a),
  };
  return { jsm: { direct } as unknown as JetStreamManager, reads: () => reads };
}

const find = (ix: ResultIndex, id: string) =>
  ix.find(resultSubject(id)!, id, windowStartOf(dispatchTime(id)!));

describe("results index", () => {
  it("1,000 lookups at once on one subject share its reads, and each finds its own record", async () => {
    const ids = idsOfOneSubject(1_000);
    await store(ids, 50);
    const c = counting();
    const ix = new ResultIndex(c.jsm);
    const found = await Promise.all(ids.map((id) => find(ix, id)));
    assert.deepEqual(
      found.map((f) => (f[0]?.result as { n: number } | undefined)?.n),
      ids.map((_, n) => n),
    );
    // 20 batches fit one page: the first lookup's read, and one shared read for all that came during it.
    assert.ok(c.reads() <= 4, `${c.reads()} batch reads for 1,000 lookups`);
  });

  it("a later lookup reads only what was stored since, and finds a batch stored just before it", async () => {
    const ids = idsOfOneSubject(2);
    await store([ids[0]!], 1);
    const c = counting();
    const ix = new ResultIndex(c.jsm);
    assert.equal((await find(ix, ids[0]!)).length, 1);
    assert.equal((await find(ix, ids[1]!)).length, 0, "not stored yet");
    await store([ids[1]!], 1);
    const late = await find(ix, ids[1]!);
    assert.equal(late.length, 1, "stored before the lookup began");
    assert.equal(late[0]!.dispatch_id, ids[1]);
  });

  it("keeps at most maxIds ids, forgetting the least recently used subjects, and still finds a forgotten one", async () => {
    await own.jsm.streams.purge(STREAMS.results); // the other tests' ids share these subjects
    const ix = new ResultIndex(own.jsm, { maxIds: 150, cachedBatches: 2 });
    const subjects = [idsOfOneSubject(100), idsOfOneSubject(100)];
    // a second subject: same time, another shard (the ids above share one)
    while (resultSubject(subjects[1]![0]!) === resultSubject(subjects[0]![0]!))
      subjects[1] = idsOfOneSubject(100);
    for (const ids of subjects) await store(ids, 10);
    assert.equal((await find(ix, subjects[0]![5]!)).length, 1);
    assert.equal((await find(ix, subjects[1]![5]!)).length, 1);
    assert.equal(ix.indexedIds, 100, "the first subject's 100 ids forgotten");
    // the first subject was forgotten; asking again reads it afresh
    assert.equal((await find(ix, subjects[0]![99]!)).length, 1);
  });

  it("a subject forgotten while its read runs stops counting towards the limit", async () => {
    await own.jsm.streams.purge(STREAMS.results);
    const a = idsOfOneSubject(100);
    let b = idsOfOneSubject(200);
    while (resultSubject(b[0]!) === resultSubject(a[0]!)) b = idsOfOneSubject(200);
    await store(a, 100);
    await store(b, 200);
    const slowA = {
      direct: {
        getBatch: async (...args: Parameters<JetStreamManager["direct"]["getBatch"]>) => {
          if (args[1].next_by_subj === resultSubject(a[0]!)) await new Promise((r) => setTimeout(r, 300));
          return own.jsm.direct.getBatch(...args);
        },
        getMessage: (...args: Parameters<JetStreamManager["direct"]["getMessage"]>) =>
          own.jsm.direct.getMessage(...args),
      },
    } as unknown as JetStreamManager;
    const ix = new ResultIndex(slowA, { maxIds: 150, cachedBatches: 4 });
    const readingA = find(ix, a[0]!);
    assert.equal((await find(ix, b[0]!)).length, 1); // over the limit: A, the least recently used, is forgotten
    assert.equal((await readingA).length, 1, "the lookup that started A's read still gets its answer");
    assert.equal(ix.indexedIds, 200, "only B's ids count");
  });

  it("skips a message on a results subject that is not a results batch", async () => {
    const ids = idsOfOneSubject(1);
    const js = jetstream(own.nc);
    await js.publish(resultSubject(ids[0]!)!, "not json");
    await js.publish(resultSubject(ids[0]!)!, JSON.stringify({ v: 1, results: [{ dispatch_id: ids[0] }] }));
    await store(ids, 1);
    const found = await find(new ResultIndex(own.jsm), ids[0]!);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.status, "succeeded");
  });
});

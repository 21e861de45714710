/**
 * @module
 * JetStreamPublisher against a real nats-server (2.12+, the one the test kit picks) that this file starts (own
 * port, own store dir).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  JetStreamPublisher,
  JetStreamPublishError,
  NoStreamError,
  PublishErrorCodes,
  PublisherClosedError,
  PublishTimeoutError,
} from "../../shared/nats/publisher.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  server = await startNatsServer();
  nc = await connect({
    servers: server.url,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 50,
  });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

async function addStream(name: string, extra: Partial<StreamConfig> = {}): Promise<string> {
  await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File, ...extra });
  return `${name}.x`;
}

const data = new TextEncoder().encode("hello");

describe("JetStreamPublisher", () => {
  it("publishes and resolves with the stream sequence", async () => {
    const subject = await addStream("ORD");
    const pub = new JetStreamPublisher(nc);
    assert.deepEqual(await pub.publish(subject, data), { stream: "ORD", seq: 1, duplicate: false });
    assert.deepEqual(await pub.publish(subject, "text"), { stream: "ORD", seq: 2, duplicate: false });
    pub.close();
  });

  it("dedupes by msgId: the repeat is duplicate with the same seq; caller headers are kept", async () => {
    const subject = await addStream("DEDUPE");
    const pub = new JetStreamPublisher(nc);
    const h = headers();
    h.set("X-Trace", "t1");
    const first = await pub.publish(subject, data, { msgId: "m-1", headers: h });
    const again = await pub.publish(subject, data, { msgId: "m-1", headers: h });
    assert.deepEqual(first, { stream: "DEDUPE", seq: 1, duplicate: false });
    assert.deepEqual(again, { stream: "DEDUPE", seq: 1, duplicate: true });
    assert.equal(h.has("Nats-Msg-Id"), false, "the caller's headers object is not modified");
    const stored = await jsm.streams.getMessage("DEDUPE", { seq: 1 });
    assert.equal(stored?.header.get("X-Trace"), "t1");
    assert.equal(stored?.header.get("Nats-Msg-Id"), "m-1");
    pub.close();
  });

  it("rejects a failed expect-last-subject-sequence with code 10071", async () => {
    const subject = await addStream("EXPECT");
    const pub = new JetStreamPublisher(nc);
    assert.equal((await pub.publish(subject, data, { expectLastSubjectSequence: 0 })).seq, 1);
    assert.equal((await pub.publish(subject, data, { expectLastSubjectSequence: 1 })).seq, 2);
    const err = await pub.publish(subject, data, { expectLastSubjectSequence: 1 }).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof JetStreamPublishError);
    assert.equal(err.code, PublishErrorCodes.WrongLastSequence);
    assert.equal(err.status, 400);
    assert.match(err.description, /wrong last sequence: 2/);
    await assert.rejects(pub.publish(subject, data, { expectLastSequence: 7 }), { code: 10071 });
    pub.close();
  });

  it("rejects when a discard-new stream is full: the server answers 10077 'maximum messages exceeded'", async () => {
    const subject = await addStream("FULL", { max_msgs: 5, discard: DiscardPolicy.New });
    const pub = new JetStreamPublisher(nc);
    for (let i = 0; i < 5; i++) await pub.publish(subject, data);
    const err = await pub.publish(subject, data).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof JetStreamPublishError && !(err instanceof NoStreamError));
    assert.equal(err.code, PublishErrorCodes.MaxMessagesExceeded);
    assert.equal(err.retryable, false);
    assert.match(err.description, /maximum messages exceeded/);
    pub.close();
  });

  it("rejects a message over max_msg_size with code 10054", async () => {
    const subject = await addStream("SIZE", { max_msg_size: 16 });
    const pub = new JetStreamPublisher(nc);
    await assert.rejects(pub.publish(subject, new Uint8Array(64)), {
      name: "JetStreamPublishError",
      code: PublishErrorCodes.MessageSizeExceeded,
    });
    pub.close();
  });

  it("rejects with NoStreamError once retries on no responders are used up", async () => {
    const pub = new JetStreamPublisher(nc, { timeoutMs: 500, retries: 2, retryDelayMs: 10 });
    const started = Date.now();
    const err = await pub.publish("nostream.x", data).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NoStreamError);
    assert.equal(err.attempts, 3);
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - started < 2000, "retries are paced by retryDelayMs, not the time-out");
    pub.close();
  });

  it("re-sends after no responders: a stream that appears meanwhile (a new leader) gets the message", async () => {
    const pub = new JetStreamPublisher(nc, { retries: 5, retryDelayMs: 50 });
    // Sent before the stream exists, on the same connection, so the first attempt meets no responders.
    const ack = pub.publish("LATE.x", data, { msgId: "late-1" });
    await addStream("LATE");
    assert.deepEqual(await ack, { stream: "LATE", seq: 1, duplicate: false });
    pub.close();
  });

  it("re-sends on time-out only with a msgId (same msgId), then rejects with PublishTimeoutError", async () => {
    // A core subscriber that never answers: the server routes the message, nobody acks it.
    const seen: string[] = [];
    const silent = nc.subscribe("silent.x", {
      callback: (_e, m) => void seen.push(m.headers?.get("Nats-Msg-Id") ?? ""),
    });
    await nc.flush();
    const pub = new JetStreamPublisher(nc, { timeoutMs: 100, retries: 2 });
    const withId = await pub.publish("silent.x", data, { msgId: "same" }).catch((e: unknown) => e);
    assert.ok(withId instanceof PublishTimeoutError);
    assert.equal(withId.attempts, 3);
    assert.deepEqual(seen, ["same", "same", "same"]);
    seen.length = 0;
    const withoutId = await pub.publish("silent.x", data).catch((e: unknown) => e);
    assert.ok(withoutId instanceof PublishTimeoutError);
    assert.equal(withoutId.attempts, 1, "without a msgId a re-send could store the message twice");
    assert.equal(seen.length, 1);
    silent.unsubscribe();
    pub.close();
  });

  it("flush() waits for every pending publish; close() rejects pending and later publishes", async () => {
    const subject = await addStream("LIFE");
    const pub = new JetStreamPublisher(nc, { retryDelayMs: 60_000 });
    const settled: number[] = [];
    const acks = Array.from({ length: 50 }, (_, i) => pub.publish(subject, data).then(() => settled.push(i)));
    await pub.flush();
    assert.equal(settled.length, 50);
    await Promise.all(acks);
    const stuck = pub.publish("nostream.y", data);
    const outcome = stuck.catch((e: unknown) => e);
    pub.close();
    assert.ok((await outcome) instanceof PublisherClosedError);
    await assert.rejects(pub.publish(subject, data), PublisherClosedError);
    await pub.flush();
  });

  it("keeps at most maxInFlight pending: 10,000 publishes resolve with distinct seqs", async () => {
    const subject = await addStream("MANY");
    const pub = new JetStreamPublisher(nc, { maxInFlight: 1000 });
    let peak = 0;
    const acks = [];
    for (let i = 0; i < 10_000; i++) {
      acks.push(pub.publish(subject, data, { msgId: `many-${i}` }));
      peak = Math.max(peak, pub.inFlight);
    }
    const seqs = new Set((await Promise.all(acks)).map((a) => a.seq));
    assert.equal(seqs.size, 10_000);
    assert.equal(peak, 1000);
    assert.equal((await jsm.streams.info("MANY")).state.messages, 10_000);
    pub.close();
  });

  it(
    "survives a server crash and restart: every publish resolves and each msgId is stored once",
    { timeout: 60_000 },
    async () => {
      const subject = await addStream("CRASH", { retention: RetentionPolicy.Limits });
      const pub = new JetStreamPublisher(nc, { maxInFlight: 200, timeoutMs: 500, retries: 20 });
      const n = 3000;
      let acked = 0;
      let ackedAtRestart = -1;
      let restarted: Promise<void> | undefined;
      const acks = [];
      for (let i = 0; i < n; i++) {
        acks.push(
          pub.publish(subject, data, { msgId: `crash-${i}` }).then((a) => {
            if (++acked === 1000)
              restarted = server.restart({ kill: true }).then(() => void (ackedAtRestart = acked));
            return a;
          }),
        );
      }
      const all = await Promise.all(acks);
      await restarted;
      assert.ok(
        ackedAtRestart >= 1000 && ackedAtRestart < n,
        `restart happened mid-stream (${ackedAtRestart} acked)`,
      );
      assert.equal(new Set(all.map((a) => a.seq)).size, n);
      await waitFor(
        "CRASH to hold n messages",
        async () => (await jsm.streams.info("CRASH")).state.messages === n,
      );
      const ids = new Set<string>();
      const oc = await jetstream(nc).consumers.get("CRASH");
      for (let i = 0; i < n; i++) {
        const m = await oc.next({ expires: 2000 });
        assert.ok(m, `message ${i + 1} of ${n}`);
        ids.add(m.headers?.get("Nats-Msg-Id") ?? "");
      }
      assert.equal(ids.size, n);
      pub.close();
    },
  );
});

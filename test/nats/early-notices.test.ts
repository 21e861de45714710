/**
 * @module
 * Done notices caught from dispatch, against a real nats-server: garbage and notices for other ids are dropped,
 * one notice is kept per watch, and what is kept stays within its byte budget.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { newId } from "../../shared/ids.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { EarlyNotices } from "../../shared/sdk/early-notices.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";

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

const notice = (id: string, result: unknown) =>
  JSON.stringify({
    v: 1,
    kind: "job",
    record: {
      v: 1,
      dispatch_id: id,
      job_id: id,
      type: "notice:test",
      queue: "default",
      status: "succeeded",
      result,
      attempts: 1,
      finished_at: Date.now(),
    },
  });

describe("early done notices", () => {
  it("keeps the first valid notice of a watched id, and nothing else published there", async () => {
    const early = new EarlyNotices(nc);
    const id = newId("dsp");
    early.watch(id);
    for (const bad of ["not json", "null", notice(newId("dsp"), "another id"), '{"v":1,"kind":"job"}'])
      nc.publish(subjects.done(id), bad);
    nc.publish(subjects.done(id), notice(id, "first"));
    nc.publish(subjects.done(id), notice(id, "second"));
    await nc.flush();
    const f = early.follow(id)!;
    const n = await f.next();
    assert.equal(n.kind === "job" && n.record.result, "first");
    assert.equal(early.bytesKept, 0, "handed over, no longer kept");
    f.done();
  });

  it("keeps no more bytes than its budget: a notice that does not fit is not kept", async () => {
    const early = new EarlyNotices(nc, { maxBytes: 4_000 });
    const ids = Array.from({ length: 5 }, () => newId("dsp"));
    for (const id of ids) early.watch(id);
    for (const id of ids) nc.publish(subjects.done(id), notice(id, "x".repeat(1_500)));
    await nc.flush();
    const one = Buffer.byteLength(notice(ids[0]!, "x".repeat(1_500)));
    assert.equal(early.bytesKept, Math.floor(4_000 / one) * one, "as many whole notices as fit");
    for (const id of ids) early.drop(id);
  });
});

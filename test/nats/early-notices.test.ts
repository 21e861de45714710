/**
 * @module
 * Done notices caught from dispatch, against a real nats-server: garbage and notices for other ids are dropped,
 * one notice is kept per watch, and what is kept stays within its byte budget.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { newId } from "../../shared/ids.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { EarlyNotices } from "../../shared/sdk/early-notices.ts";
import { ownServer } from "../helpers/own-server.ts";

const own = ownServer();

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
    const early = new EarlyNotices(own.nc);
    const id = newId("dsp");
    early.watch(id);
    for (const bad of ["not json", "null", notice(newId("dsp"), "another id"), '{"v":1,"kind":"job"}'])
      own.nc.publish(subjects.done(id), bad);
    own.nc.publish(subjects.done(id), notice(id, "first"));
    own.nc.publish(subjects.done(id), notice(id, "second"));
    await own.nc.flush();
    const f = early.follow(id)!;
    const n = await f.next();
    assert.equal(n.kind === "job" && n.record.result, "first");
    assert.equal(early.bytesKept, 0, "handed over, no longer kept");
    f.done();
  });

  it("keeps no more bytes than its budget: a notice that does not fit is not kept", async () => {
    const early = new EarlyNotices(own.nc, { maxBytes: 4_000 });
    const ids = Array.from({ length: 5 }, () => newId("dsp"));
    for (const id of ids) early.watch(id);
    for (const id of ids) own.nc.publish(subjects.done(id), notice(id, "x".repeat(1_500)));
    await own.nc.flush();
    const one = Buffer.byteLength(notice(ids[0]!, "x".repeat(1_500)));
    assert.equal(early.bytesKept, Math.floor(4_000 / one) * one, "as many whole notices as fit");
    for (const id of ids) early.drop(id);
  });
});

/**
 * @module
 * Hand-made pull requests against a real nats-server: what is owed follows each request, a status ends only
 * its own request, and a request the consumer's limits refuse is reported and not asked again at once.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, jetstream } from "@nats-io/jetstream";
import { PullRequests, REFUSED_BACKOFF_MS } from "../../shared/nats/pull-requests.ts";
import type { PulledMessage } from "../../shared/nats/pulled-msg.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { ownServer } from "../helpers/own-server.ts";

const own = ownServer(async ({ jsm }) => {
  await jsm.streams.add({ name: "PULLS", subjects: ["pulls.>"] });
});

let consumers = 0;

/** A consumer on its own subject, and a PullRequests on it that records what happens. */
async function pulls(config: { max_batch?: number } = {}, expiresMs = 1_000) {
  const name = `c${++consumers}`;
  await own.jsm.consumers.add("PULLS", {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    filter_subject: `pulls.${name}`,
    ...config,
  });
  const got: PulledMessage[] = [];
  const rooms: number[] = [];
  const refused: string[] = [];
  const p = new PullRequests({
    nc: own.nc,
    stream: "PULLS",
    consumer: name,
    expiresMs,
    onMessage: (m) => got.push(m),
    onMissing: () => undefined,
    onRoom: (afterMs) => rooms.push(afterMs),
    onRefused: (code, description) => refused.push(`${code} ${description}`),
  });
  const publish = async (n: number) => {
    const js = jetstream(own.nc);
    for (let i = 0; i < n; i++) await js.publish(`pulls.${name}`, String(i));
  };
  return { p, got, rooms, refused, publish };
}

describe("pull requests", () => {
  it("counts messages against what was asked, and an expiry ends only what its request still owed", async () => {
    const { p, got, rooms, publish } = await pulls();
    await publish(3);
    p.request(5);
    await waitFor("3 messages", () => got.length === 3);
    assert.equal(p.owed, 2);
    await p.settled();
    await waitFor("the expiry", () => rooms.length > 0);
    assert.equal(p.owed, 0);
    assert.deepEqual(rooms, [0], "asks again at once after an expiry");
    for (const m of got) m.ack();
    p.close();
  });

  it("two open requests served in turn: a filled one gets no status, the other's expiry ends what it still owed", async () => {
    const { p, got, rooms, publish } = await pulls();
    p.request(10);
    p.request(2);
    await own.nc.flush();
    await publish(4); // the server alternates: 2 to each, so the second is filled and the first owes 8
    await waitFor("4 messages", () => got.length === 4);
    assert.equal(p.owed, 8);
    await waitFor("the first request's expiry", () => rooms.length > 0);
    assert.equal(p.owed, 0, "nothing is owed once the first request expired");
    for (const m of got) m.ack();
    await waitFor("the filled request forgotten after its expiry", () => p.openRequests === 0, {
      timeoutMs: 6_000,
    });
    p.close();
  });

  it("a refused request (over the consumer's max_batch) ends only itself, is reported, and backs off", async () => {
    const { p, got, rooms, refused, publish } = await pulls({ max_batch: 10 }, 5_000);
    p.request(4);
    p.request(50); // refused: 409 Exceeded MaxRequestBatch, without a pending count
    await waitFor("the refusal", () => refused.length === 1);
    assert.match(refused[0]!, /^409 .*MaxRequestBatch/i);
    assert.deepEqual(rooms, [REFUSED_BACKOFF_MS]);
    assert.equal(p.owed, 4, "the first request is still open");
    await publish(4);
    await waitFor("4 messages", () => got.length === 4);
    assert.equal(p.owed, 0);
    for (const m of got) m.ack();
    p.close();
  });
});

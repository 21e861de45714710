/**
 * @module
 * Keys that expire by server TTL, against a real nats-server with short TTLs (the server's minimum is 1 s):
 * uniqueFor claims, locks and rate-limit windows are refused while live and free after, sub-second ones by the
 * expiry kept in their value although the server key lingers, and every one of them vanishes from the server
 * with no jetbus service running at all (there is no sweep). Buckets made by an older jetbus without TTL
 * support: refused with TOPOLOGY_OUTDATED naming `jetbus init --apply`, until the plan is applied.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { UniqueClaims } from "../../services/dispatcher/unique-claims.ts";
import { KeyTtlReadiness } from "../../shared/nats/key-ttl-readiness.ts";
import type { TtlBucket } from "../../shared/nats/kv-ttl.ts";
import { applyPlan, planTopology } from "../../shared/nats/plan.ts";
import { provisionTopology, type Buckets } from "../../shared/nats/provision.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { ReleaseError } from "../../shared/protocol/errors.ts";
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { KvLocker } from "../../shared/worker/middleware/kv-locker.ts";
import { KvRateLimiter } from "../../shared/worker/middleware/kv-rate-limiter.ts";
import { rejectsWithCode } from "../helpers/jobs.ts";
import { uniq } from "../helpers/names.ts";

const log = createLogger("test", "silent");
let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let buckets: Buckets;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  ({ buckets } = await provisionTopology(nc, jsm, DEFAULT_TOPOLOGY, log));
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

const live = async (b: TtlBucket, key: string) => (await b.get(key))?.operation === "PUT";

/** Resolves once the server has removed the key (its expiry marker, then nothing), with the time it took. */
async function vanishes(b: TtlBucket, key: string, since: number, timeoutMs = 6_000) {
  const expiredAfterMs = await waitFor(
    `key ${key} to expire on the server`,
    async () => ((await live(b, key)) ? null : { ms: Date.now() - since }),
    { timeoutMs, intervalMs: 20 },
  );
  await waitFor(
    `the expiry marker of ${key} to go too`,
    async () => ((await b.get(key)) === null ? true : null),
    {
      timeoutMs: 4_000,
      intervalMs: 50,
    },
  );
  return expiredAfterMs.ms;
}

describe("uniqueFor claims", () => {
  it("a claim is refused inside its TTL, and its key vanishes from the server after it with no service running", async () => {
    const claims = new UniqueClaims(buckets.unique);
    const key = UniqueClaims.key("q", uniq("t"), { n: 1 });
    const t0 = Date.now();
    const first = await claims.claim(key, "dsp_a", 1_000);
    assert.equal(first.ok, true);
    const dup = await claims.claim(key, "dsp_b", 1_000);
    assert.equal(dup.ok, false);
    if (!dup.ok) assert.equal(dup.holder, "dsp_a");
    const ms = await vanishes(buckets.unique, key, t0);
    assert.ok(ms >= 950, `expired after ${ms} ms, before its TTL`);
    assert.ok((await claims.claim(key, "dsp_c", 1_000)).ok, "accepted again after the TTL");
  });

  it("a 300 ms claim frees after 300 ms although the server keeps its key for a whole second", async () => {
    const claims = new UniqueClaims(buckets.unique);
    const key = UniqueClaims.key("q", uniq("t"), {});
    const t0 = Date.now();
    const first = await claims.claim(key, "dsp_a", 300);
    assert.ok(first.ok);
    assert.equal((await claims.claim(key, "dsp_b", 300)).ok, false);
    const again = await waitFor(
      "the 300 ms claim to free",
      async () => {
        const stillOnServer = await live(buckets.unique, key);
        const r = await claims.claim(key, "dsp_b", 300);
        return r.ok ? { at: Date.now() - t0, stillOnServer } : null;
      },
      { intervalMs: 20 },
    );
    assert.ok(again.at >= 300, `accepted after ${again.at} ms`);
    assert.ok(again.stillOnServer, "the server key was gone already: the test did not exercise expires_at");
    assert.ok(again.at < 900, `accepted only after ${again.at} ms`);
  });

  it("releasing a claim removes it only at its own revision", async () => {
    const claims = new UniqueClaims(buckets.unique);
    const key = UniqueClaims.key("q", uniq("t"), {});
    const a = await claims.claim(key, "dsp_a", 200);
    assert.ok(a.ok);
    const b = await waitFor("a later claim", async () => {
      const r = await claims.claim(key, "dsp_b", 5_000);
      return r.ok ? r : null;
    });
    await claims.release(key, a.revision);
    assert.equal((await claims.claim(key, "dsp_c", 5_000)).ok, false, "the stale release freed b's claim");
    await claims.release(key, b.revision);
    assert.ok((await claims.claim(key, "dsp_c", 5_000)).ok);
  });
});

describe("locks", () => {
  it("a lock never released (its holder died) frees by TTL; its key vanishes with no service running", async () => {
    const locker = new KvLocker(buckets.locks);
    const name = uniq("lock");
    const t0 = Date.now();
    assert.ok((await locker.acquire(name, 1_000)).acquired);
    const held = await locker.acquire(name, 1_000);
    assert.equal(held.acquired, false);
    if (!held.acquired) assert.ok(held.retryAfterMs > 0 && held.retryAfterMs <= 1_000);
    const ms = await vanishes(buckets.locks, keys.lock(name), t0);
    assert.ok(ms >= 950, `expired after ${ms} ms`);
    assert.ok((await locker.acquire(name, 1_000)).acquired);
  });

  it("a 250 ms lock is taken over after 250 ms while its key still lives; release leaves nothing behind", async () => {
    const locker = new KvLocker(buckets.locks);
    const name = uniq("lock");
    const t0 = Date.now();
    assert.ok((await locker.acquire(name, 250)).acquired);
    const next = await waitFor(
      "the 250 ms lock to be free",
      async () => {
        const stillOnServer = await live(buckets.locks, keys.lock(name));
        const r = await locker.acquire(name, 5_000);
        return r.acquired ? { r, at: Date.now() - t0, stillOnServer } : null;
      },
      { intervalMs: 20 },
    );
    assert.ok(next.at >= 250 && next.at < 900, `taken over after ${next.at} ms`);
    assert.ok(next.stillOnServer, "the server key was gone already: the test did not exercise expires_at");
    await next.r.lock.release();
    assert.equal(await live(buckets.locks, keys.lock(name)), false);
    assert.ok((await locker.acquire(name, 5_000)).acquired, "free at once after release");
  });
});

describe("rate-limit windows", () => {
  it("a full window refuses until it ends, the next one starts from zero, and old windows vanish by themselves", async () => {
    const limiter = new KvRateLimiter(buckets.limits, 2, 1_000);
    const name = uniq("rl");
    // Start at the beginning of a window, so both allowed calls fall in it.
    await waitFor("the start of a window", () => Date.now() % 1_000 < 200 || null, { intervalMs: 5 });
    const window = Math.floor(Date.now() / 1_000);
    assert.ok((await limiter.allow(name)).allowed);
    assert.ok((await limiter.allow(name)).allowed);
    const refused = await limiter.allow(name);
    assert.equal(refused.allowed, false);
    assert.ok(
      refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000,
      `retry after ${refused.retryAfterMs}`,
    );
    const reopened = await waitFor(
      "the next window",
      async () => ((await limiter.allow(name)).allowed ? Date.now() : null),
      {
        intervalMs: 20,
      },
    );
    assert.ok(reopened >= (window + 1) * 1_000, "allowed again before the window ended");
    // The full window's key outlives its end by a second, then the server removes it.
    const ms = await vanishes(buckets.limits, keys.limit(name, window), (window + 1) * 1_000);
    assert.ok(
      ms >= 900,
      `the window's key went ${ms} ms after its end: it could have been counted from zero`,
    );
  });
});

describe("buckets made by an older jetbus, without TTL support", () => {
  let old: NatsServer;
  let onc: NatsConnection;
  let ojsm: JetStreamManager;

  before(async () => {
    old = await startNatsServer();
    onc = await connect({ servers: old.url, noAsyncTraces: true });
    ojsm = await jetstreamManager(onc);
    // What provisioning did before per-key TTLs: plain buckets with an age limit.
    const kvm = new Kvm(onc);
    for (const name of Object.values(BUCKETS)) await kvm.create(name, { history: 1, ttl: 24 * 3600_000 });
  });

  after(async () => {
    await onc?.close();
    await old?.stop();
  });

  it("connectBus refuses them, naming `jetbus init --apply`", async () => {
    await rejectsWithCode(
      connectBus({ servers: old.url, logger: log }),
      "TOPOLOGY_OUTDATED",
      /jetbus-unique, jetbus-locks, jetbus-limits.*jetbus init --apply/,
    );
  });

  it("claims and locks fail clearly (a job is put back, not failed) until `jetbus init --apply`, then work", async () => {
    const p = await provisionTopology(onc, ojsm, DEFAULT_TOPOLOGY, log);
    assert.deepEqual(p.withoutKeyTtl.sort(), [BUCKETS.limits, BUCKETS.locks, BUCKETS.unique].sort());
    const claims = new UniqueClaims(p.buckets.unique);
    await rejectsWithCode(claims.claim("k", "dsp_a", 1_000), "TOPOLOGY_OUTDATED", /jetbus init --apply/);
    const lockErr = await new KvLocker(p.buckets.locks).acquire("x", 1_000).catch((e: unknown) => e);
    assert.ok(lockErr instanceof ReleaseError, `got ${String(lockErr)}`);
    assert.equal(lockErr.code, "TOPOLOGY_OUTDATED");
    const limitErr = await new KvRateLimiter(p.buckets.limits, 1, 1_000).allow("x").catch((e: unknown) => e);
    assert.ok(limitErr instanceof ReleaseError && limitErr.code === "TOPOLOGY_OUTDATED");

    const readiness = new KeyTtlReadiness(ojsm, p.withoutKeyTtl, log, 100);
    assert.match(readiness.reason() ?? "", /jetbus init --apply/);
    const plan = await planTopology(ojsm, DEFAULT_TOPOLOGY);
    const ttlUpdates = plan.filter((x) => x.update.some((d) => d.field === "allow_msg_ttl"));
    assert.deepEqual(ttlUpdates.map((x) => x.resource.name).sort(), p.withoutKeyTtl.sort());
    assert.ok(
      ttlUpdates.every((x) => x.blocked.length === 0),
      "turning TTL on is an in-place change",
    );
    const applied = await applyPlan(ojsm, plan);
    assert.deepEqual(
      applied.filter((a) => a.error),
      [],
    );
    await waitFor("the service to become ready", () => readiness.reason() === null || null, {
      timeoutMs: 5_000,
    });
    readiness.stop();
    assert.deepEqual(await planTopology(ojsm, DEFAULT_TOPOLOGY), []);

    const t0 = Date.now();
    assert.ok((await claims.claim("k", "dsp_a", 1_000)).ok);
    await vanishes(p.buckets.unique, "k", t0);
  });
});

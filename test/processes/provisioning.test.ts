/**
 * @module
 * Provisioning never silently changes a live stream, bucket or consumer (service and CLI processes):
 * services create what is missing and `jetbus init` then has nothing to do; a limit changed by hand is logged
 * as drift by a service started afterwards (with the metric) and left as it is until `jetbus init --apply`;
 * a paused consumer stays paused across a worker restart and across `--apply`; buckets made by an older
 * jetbus without TTL support keep the dispatcher not ready until `--apply` turns TTL on; what cannot change in
 * place is reported with its fix.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { BUCKETS, jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { STREAM_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { runCli } from "../helpers/cli.ts";
import { FAST_ENV } from "../helpers/mesh.ts";
import { httpGet, httpPort, metricsOf, metricSum } from "../helpers/process-kit.ts";
import { ProcessPool, type ServiceProcess } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("prov");
let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let worker: ServiceProcess;
const pool = new ProcessPool(() => server.url);
/** `jetbus init` with the services' own configuration. */
const init = (url: string, ...args: string[]) => runCli(["init", ...args], url, { env: FAST_ENV });

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await pool.killAll();
  await nc?.close();
  await server?.stop();
});

describe("one server from fresh", () => {
  it("the services create every stream, bucket and consumer; `jetbus init` then has nothing to do", async () => {
    [, , worker] = await Promise.all([pool.spawn("dispatcher"), pool.spawn("coordinator"), pool.worker([Q])]);
    assert.ok(await jsm.consumers.info(STREAMS.jobs, jobConsumerName(Q, "t:echo")));
    const r = await init(server.url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "nothing to do: the JetStream layout matches the configuration");
  });

  it("a limit changed by hand: a service started afterwards logs it and sets the metric, leaves it; `init --apply` fixes it", async () => {
    await jsm.streams.update(STREAMS.events, { max_age: nanos(3_600_000) });
    const coordinator = await pool.spawn("coordinator");
    const line = await coordinator.waitForLine("differs from the configuration");
    assert.match(line, /stream JETBUS_EVENTS differs from the configuration .*max_age: have 1h, want 1d/);
    assert.match(line, /jetbus init --apply/);
    const text = await metricsOf(coordinator);
    const labels = { resource: `stream:${STREAMS.events}`, field: "max_age" };
    assert.equal(metricSum(text, "jetbus_topology_drift", labels), 1);
    assert.equal(metricSum(text, "jetbus_topology_drift"), 1, "nothing else drifted");
    assert.equal((await jsm.streams.info(STREAMS.events)).config.max_age, nanos(3_600_000), "left as it was");

    const plan = await init(server.url);
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(
      plan.stdout,
      "update stream JETBUS_EVENTS: max_age: have 1h, want 1d\nrun `jetbus init --apply` to carry out this plan",
    );
    assert.equal(
      (await jsm.streams.info(STREAMS.events)).config.max_age,
      nanos(3_600_000),
      "a plan changes nothing",
    );

    const applied = await init(server.url, "--apply");
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, "updated stream JETBUS_EVENTS: max_age: have 1h, want 1d");
    assert.equal((await jsm.streams.info(STREAMS.events)).config.max_age, nanos(86_400_000));
    assert.equal(
      (await init(server.url)).stdout,
      "nothing to do: the JetStream layout matches the configuration",
    );
  });

  it("a paused consumer stays paused across a worker restart and across `jetbus init --apply`", async () => {
    const name = jobConsumerName(Q, "t:echo");
    const until = new Date(Date.now() + 3_600_000);
    await jsm.consumers.pause(STREAMS.jobs, name, until);
    await jsm.consumers.update(STREAMS.jobs, name, { max_ack_pending: 5 });
    const pausedUntil = (await jsm.consumers.info(STREAMS.jobs, name)).config.pause_until;
    assert.ok(pausedUntil);

    await worker.stop();
    const restarted = await pool.worker([Q]);
    const line = await restarted.waitForLine(`consumer JETBUS_JOBS/${name} differs`);
    assert.match(line, /max_ack_pending: have 5, want 10000/);
    assert.doesNotMatch(line, /pause/, "a pause is runtime state, not drift");
    let ci = await jsm.consumers.info(STREAMS.jobs, name);
    assert.equal(ci.paused, true, "paused after the worker restart");
    assert.equal(ci.config.pause_until, pausedUntil);
    assert.equal(ci.config.max_ack_pending, 5, "the worker left the consumer as it was");

    const applied = await init(server.url, "--apply");
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, `updated consumer JETBUS_JOBS/${name}: max_ack_pending: have 5, want 10000`);
    ci = await jsm.consumers.info(STREAMS.jobs, name);
    assert.equal(ci.config.max_ack_pending, 10_000);
    assert.equal(ci.paused, true, "paused after `jetbus init --apply`");
    assert.equal(ci.config.pause_until, pausedUntil);
    await jsm.consumers.resume(STREAMS.jobs, name);
  });
});

describe("layouts an older jetbus or a hand made", () => {
  const servers: NatsServer[] = [];
  const conns: NatsConnection[] = [];
  const others = new ProcessPool(() => servers[0]!.url);
  after(async () => {
    await others.killAll();
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });
  async function another(): Promise<{ url: string; jsm: JetStreamManager; nc: NatsConnection }> {
    const s = await startNatsServer();
    servers.push(s);
    const c = await connect({ servers: s.url, noAsyncTraces: true });
    conns.push(c);
    return { url: s.url, jsm: await jetstreamManager(c), nc: c };
  }

  it("buckets without TTL support keep the dispatcher not ready, naming `jetbus init --apply`, until it runs", async () => {
    const old = await another();
    const kvm = new Kvm(old.nc);
    for (const name of Object.values(BUCKETS)) await kvm.create(name, { history: 1, ttl: 24 * 3_600_000 });
    const dispatcher = await others.spawn("dispatcher");
    assert.match(
      await dispatcher.waitForLine("not ready"),
      /"level":"error".*jetbus-unique was made without per-key TTL support.*jetbus init --apply/,
    );
    const port = await httpPort(dispatcher);
    const ready = await httpGet(port, "/readyz");
    assert.equal(ready.status, 503);
    assert.match(ready.body, /jetbus-unique .*jetbus init --apply/);

    const plan = await init(old.url);
    assert.equal(plan.code, 0, plan.stderr);
    for (const b of [BUCKETS.unique, BUCKETS.locks, BUCKETS.limits])
      assert.match(plan.stdout, new RegExp(`update bucket ${b}: .*allow_msg_ttl: have false, want true`));
    const applied = await init(old.url, "--apply");
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /updated bucket jetbus-unique: /);
    await waitFor(
      "the dispatcher to become ready",
      async () => (await httpGet(port, "/readyz")).status === 200 || null,
      {
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    await dispatcher.waitForLine("bucket jetbus-unique now supports per-key TTL");
    assert.equal(
      (await init(old.url)).stdout,
      "nothing to do: the JetStream layout matches the configuration",
    );
  });

  it("what cannot change in place is shown with its fix; `--apply` does the rest and exits non-zero", async () => {
    const hand = await another();
    const events = { name: STREAMS.events, subjects: [STREAM_SUBJECTS.events] };
    await hand.jsm.streams.add({ ...events, retention: RetentionPolicy.Workqueue });
    const plan = await init(hand.url);
    assert.equal(plan.code, 1);
    assert.match(plan.stdout, /^create stream JETBUS_JOBS$/m);
    assert.match(
      plan.stdout,
      /^cannot change stream JETBUS_EVENTS in place: .*retention: have "workqueue", want "limits"/m,
    );
    assert.match(
      plan.stdout,
      /^ {2}to fix: drain stream JETBUS_EVENTS .*nats stream rm JETBUS_EVENTS.*jetbus init --apply/m,
    );
    const applied = await init(hand.url, "--apply");
    assert.equal(applied.code, 1);
    assert.match(applied.stdout, /^created bucket jetbus-workflows$/m);
    assert.match(applied.stdout, /^updated stream JETBUS_EVENTS: /m, "its limits were still brought in step");
    assert.match(applied.stdout, /^cannot change stream JETBUS_EVENTS in place/m);
    assert.equal((await hand.jsm.streams.info(STREAMS.events)).config.retention, RetentionPolicy.Workqueue);
    const again = await init(hand.url);
    assert.equal(again.code, 1);
    assert.equal(again.stdout.split("\n").filter((l) => !l.startsWith(" ")).length, 2, again.stdout);
  });
});

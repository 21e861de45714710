/**
 * @module
 * The console's JSON API against a real mesh (nats-server, dispatcher, coordinator, a worker bus): a batch
 * with failures (its page, its failed members by the workflow token, a member by id), the dead-letter bulk
 * actions in two steps, pause and resume with the server's consumer pause, a type with no worker, and the
 * security rules (read-only without operators, sign-in, CSRF, no secret on the page).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { register } from "prom-client";
import { loadConfig } from "../../services/console/config.ts";
import { job, type Bus } from "../../shared/index.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import {
  ConsoleClient,
  deliveredSeq,
  operatorEntries,
  startTestConsole,
  waitHeldByPause,
  type ConsoleHandle,
} from "../helpers/console.ts";
import { ncOf } from "../helpers/workflow-kit.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;
let rw: ConsoleHandle;
let ro: ConsoleHandle;
const SECRET = "correct horse battery staple";
const T = uniq("con");
const ok = `${T}:ok`;
const fail = `${T}:fail`;
const flaky = `${T}:flaky`;
const slow = `${T}:slow`;
const doomed = `${T}:doomed`;
const forged = `${T}:forged`;
const seenFlaky = new Set<number>();
const slowRuns: number[] = [];

before(async () => {
  mesh = await startMesh();
  client = await mesh.bus();
  worker = await mesh.bus();
  worker.register(ok, () => "ok");
  worker.register(fail, (ctx) => {
    throw new Error(`member ${ctx.bind<{ i: number }>().i} failed`);
  });
  // Fails the first time it sees a payload, succeeds after a replay.
  worker.register(flaky, (ctx) => {
    const { i } = ctx.bind<{ i: number }>();
    if (!seenFlaky.has(i)) {
      seenFlaky.add(i);
      throw new Error(`first run of ${i}`);
    }
    return i;
  });
  worker.register(forged, () => {
    throw new Error("real failure");
  });
  worker.register(doomed, () => {
    throw new Error("doomed");
  });
  worker.register(slow, (ctx) => {
    slowRuns.push(ctx.bind<{ i: number }>().i);
  });
  await worker.startWorkers();
  [rw, ro] = await Promise.all([
    startTestConsole(mesh.url, { JETBUS_CONSOLE_USERS: await operatorEntries({ ada: SECRET }) }),
    startTestConsole(mesh.url),
  ]);
});
after(async () => {
  await Promise.allSettled([rw?.stop(), ro?.stop()]);
  await mesh?.stop();
});

async function operator(): Promise<ConsoleClient> {
  const c = new ConsoleClient(rw.url);
  assert.equal((await c.signIn("ada", SECRET)).status, 200);
  return c;
}

describe("security", () => {
  it("a console without operators is read-only: every action is refused", async () => {
    const c = new ConsoleClient(ro.url);
    assert.equal((await c.get("/api/session")).body.readOnly, true);
    const r = await c.post("/api/dlq/1/replay");
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "PERMISSION_DENIED");
    assert.equal((await c.signIn("ada", SECRET)).status, 403);
  });

  it("actions need a signed-in operator and the session's CSRF token", async () => {
    const anon = new ConsoleClient(rw.url);
    assert.equal((await anon.post("/api/batches/bat_x/cancel")).status, 401);
    // a count is a full scan and the first step of a bulk action
    assert.equal((await anon.post("/api/dlq/count", {})).status, 401);
    assert.equal((await anon.signIn("ada", "wrong secret")).status, 401);
    assert.equal((await anon.signIn("eve", SECRET)).status, 401);
    const c = await operator();
    const noToken = await c.post("/api/queues/pause", { queue: "default", type: ok }, false);
    assert.equal(noToken.status, 403);
    assert.match(noToken.body.error.message, /CSRF/);
  });

  it("no secret reaches the page: the session reply and the page carry neither the hash nor the secret", async () => {
    const c = await operator();
    const page = await (await fetch(rw.url + "/")).text();
    const session = JSON.stringify((await c.get("/api/session")).body);
    for (const text of [page, session]) {
      assert.doesNotMatch(text, /scrypt\$/);
      assert.ok(!text.includes(SECRET));
    }
    const res = await fetch(rw.url + "/");
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self' 'sha256-/);
  });

  it("binds to 127.0.0.1 and is read-only unless told otherwise", () => {
    const cfg = loadConfig({});
    assert.deepEqual(
      [cfg.common.httpHost, cfg.common.httpPort, cfg.operators.length],
      ["127.0.0.1", 9104, 0],
    );
  });

  it("answers only to loopback or configured host names (DNS rebinding)", async () => {
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(rw.url);
        http
          .get({ host: u.hostname, port: u.port, path: "/api/session", headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .on("error", reject);
      });
    assert.equal(await status("evil.example:80"), 403);
    assert.equal(await status(`localhost:${new URL(rw.url).port}`), 200);
  });

  it("five failed sign-ins block a name for a while, whatever secret comes next", async () => {
    const c = new ConsoleClient(rw.url);
    for (let i = 0; i < 5; i++) assert.equal((await c.signIn("mallory", `guess ${i}`)).status, 401);
    const r = await c.signIn("mallory", "anything");
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, "RATE_LIMITED");
  });

  it("bad input gets a clear error", async () => {
    const c = await operator();
    const r = await c.get("/api/dlq?reason=bored&since=soon");
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /reason=.*since=/s);
    assert.equal((await c.post("/api/queues/pause", { queue: "no such queue!" })).status, 400);
    assert.equal((await c.get("/api/batches/not%20an%20id")).status, 400);
    assert.equal((await c.get("/api/batches/bat_nope")).status, 404);
  });
});

describe("workflows and dead letters", () => {
  it("a batch with failures: its page, its failed members by the workflow token, a member by id", async () => {
    const members = [0, 1, 2, 3, 4].map((i) => (i % 2 ? job(fail, { i }) : job(ok, { i })));
    const id = await client
      .batch(...members)
      .allowFailures()
      .then(job(ok))
      .catch(job(ok))
      .dispatch();
    await client.wait(id, { timeout: 15_000 });
    const c = new ConsoleClient(rw.url);
    const b = (await c.get(`/api/batches/${id}`)).body;
    assert.deepEqual(
      [b.total, b.processed, b.failed, b.pending, b.state],
      [5, 5, 2, 0, "completed with failures"],
    );
    assert.deepEqual(
      b.callbacks.map((k: { kind: string; status: string }) => k.kind),
      ["then", "catch"],
    );
    const page = (await c.get(`/api/dlq?batch=${id}&limit=1`)).body;
    assert.equal(page.letters.length, 1);
    assert.equal(page.letters[0].workflowId, id);
    assert.match(page.letters[0].subject, new RegExp(`^jetbus\\.dlq\\.default\\.@${id}\\.`));
    const rest = (await c.get(`/api/dlq?batch=${id}&after=${page.nextSeq}`)).body;
    assert.equal(rest.letters.length, 1);
    assert.equal(rest.nextSeq, null);
    const member = (await c.get(`/api/lookup/${page.letters[0].jobId}`)).body;
    assert.equal(member.kind, "job");
    assert.equal(member.member.workflowId, id);
    assert.equal(member.member.outcomeRecorded, true);
    assert.equal(member.deadLetter.envelope.type, fail);
    assert.equal((await c.get(`/api/lookup/${id}`)).body.kind, "batch");
  });

  it("a chain's nodes as a line with their states", async () => {
    const id = await client.chain(job(ok), job(fail), job(ok)).dispatch();
    await client.wait(id, { timeout: 15_000 }).catch(() => undefined);
    const ch = (await new ConsoleClient(rw.url).get(`/api/chains/${id}`)).body;
    assert.equal(ch.state, "failed");
    assert.deepEqual(
      ch.nodes.map((n: { state: string }) => n.state),
      ["succeeded", "failed", "skipped"],
    );
  });

  it("replay all matching a filter: the count states the set, the replay acts on that set only", async () => {
    const failed = async (i: number) => {
      const d = (await client.dispatch(job(flaky, { i }))).dispatchId;
      assert.equal((await client.wait(d, { timeout: 10_000 })).status, "failed");
      return d;
    };
    const ids = [];
    for (const i of [1, 2, 3]) ids.push(await failed(i));
    const c = await operator();
    // `until=-0s` is "now": resolved once, at the count; re-read at the confirm it would take in a later letter.
    const count = (await c.post("/api/dlq/count", { type: flaky, reason: "exhausted", until: "-0s" })).body;
    assert.equal(count.count, 3);
    assert.match(count.filter, new RegExp(`type=${flaky}`));
    assert.match(count.confirm.filter.until, /^\d{13}$/);
    const late = await failed(4); // arrives between the count and the confirm
    const relative = { ...count.confirm, filter: { ...count.confirm.filter, until: "-0s" } };
    assert.equal((await c.post("/api/dlq/replay", relative)).status, 400);
    const stale = await c.post("/api/dlq/replay", { ...count.confirm, count: 2 });
    assert.deepEqual([stale.status, stale.body.error.code], [409, "CONFLICT"]);
    const r = await c.post("/api/dlq/replay", count.confirm);
    assert.deepEqual(r.body, { done: 3, failed: [] });
    for (const d of ids) assert.equal((await client.wait(d, { timeout: 10_000 })).status, "succeeded");
    const left = (await c.get(`/api/dlq?type=${flaky}`)).body.letters;
    assert.deepEqual(
      left.map((l: { dispatchId: string }) => l.dispatchId),
      [late],
    );
  });

  it("a forged far-future letter does not hide later letters from an `until` filter", async () => {
    const fails = async () => {
      const d = (await client.dispatch(job(forged))).dispatchId;
      await client.wait(d, { timeout: 10_000 });
    };
    await fails();
    const [real] = await client.deadLetters.list({ type: forged });
    const nc = await connect({ servers: mesh.url, noAsyncTraces: true });
    try {
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(STREAMS.deadLetters, { seq: real!.seq });
      const body = { ...(stored!.json() as object), failed_at: Date.UTC(3000, 0, 1) };
      await jetstream(nc).publish(real!.subject, JSON.stringify(body));
    } finally {
      await nc.close();
    }
    await fails();
    const until = Date.now() + 3_600_000;
    assert.equal((await client.deadLetters.count({ type: forged, until })).count, 2);
  });

  it("discard one, and discard all matching", async () => {
    const ids = [];
    for (const i of [7, 8]) ids.push((await client.dispatch(job(doomed, { i }))).dispatchId);
    const c = await operator();
    for (const d of ids) await client.wait(d, { timeout: 10_000 });
    const first = (await c.get(`/api/dlq?type=${doomed}&limit=1`)).body.letters[0];
    assert.equal((await c.post(`/api/dlq/${first.seq}/discard`)).status, 200);
    assert.equal((await c.get(`/api/dlq/${first.seq}`)).status, 404);
    const count = (await c.post("/api/dlq/count", { type: doomed })).body;
    assert.equal(count.count, 1);
    assert.deepEqual((await c.post("/api/dlq/discard", count.confirm)).body, { done: 1, failed: [] });
  });
});

describe("actions", () => {
  it("cancel a batch; every action is counted with the user's name", async () => {
    const waiting = `${T}:unserved`;
    const id = await client.batch(job(waiting), job(waiting)).dispatch();
    const c = await operator();
    assert.equal((await c.post(`/api/batches/${id}/cancel`, { reason: "not today" })).status, 200);
    const b = (await c.get(`/api/batches/${id}`)).body;
    assert.deepEqual([b.state, b.failure?.message], ["cancelled", "not today"]);
    const counted = (await register.getSingleMetric("jetbus_console_actions_total")!.get()).values;
    const mine = counted.filter((v) => v.labels.user === "ada" && v.labels.outcome === "ok");
    for (const action of ["cancel_batch", "replay_matching", "discard_matching", "discard", "sign_in"])
      assert.ok(
        mine.some((v) => v.labels.action === action && v.value > 0),
        `${action} counted for ada`,
      );
  });
});

describe("queues", () => {
  it("pause a type: the server stops delivering its jobs; resume: they run", async () => {
    await client.dispatch(job(slow, { i: 0 }));
    await waitFor("the first slow job", () => (slowRuns.includes(0) ? true : undefined));
    const c = await operator();
    const p = await c.post("/api/queues/pause", { queue: "default", type: slow });
    assert.equal(p.status, 200);
    const row = async () =>
      ((await c.get("/api/queues")).body.rows as any[]).find((r) => r.queue === "default" && r.type === slow);
    assert.ok((await row()).pausedUntil > Date.now());
    const before = await deliveredSeq(ncOf(client), "default", slow);
    await client.dispatch(job(slow, { i: 1 }));
    // The job is stored and a worker is asking for it, yet the server delivers nothing while paused.
    await waitHeldByPause(ncOf(client), "default", slow, before);
    await waitFor("the paused job shown ready with a pull request open", async () => {
      const r = await row();
      return r.ready === 1 && r.pullRequests > 0 ? r : undefined;
    });
    assert.ok(!slowRuns.includes(1), "a paused consumer delivered a job");
    assert.equal((await c.post("/api/queues/resume", { queue: "default", type: slow })).status, 200);
    await waitFor("the job after resume", () => (slowRuns.includes(1) ? true : undefined));
    assert.equal((await row()).pausedUntil, null);
  });

  it("a type with jobs waiting and no live worker is flagged", async () => {
    const lonely = `${T}:lonely`;
    await client.dispatch(job(lonely).onQueue("nobody"));
    // Readings are shared for half a second: the next one shows the job.
    const rows = await waitFor("the lonely type's row", async () => {
      const all = (await new ConsoleClient(rw.url).get("/api/queues")).body.rows as any[];
      return all.some((x) => x.type === lonely) ? all : undefined;
    });
    const r = rows.find((x) => x.type === lonely);
    assert.equal(r.noWorker, true);
    assert.equal(r.liveWorkers, 0);
    assert.equal(rows.find((x) => x.type === ok).noWorker, false);
  });
});

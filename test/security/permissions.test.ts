/**
 * @module
 * The shipped least-privilege setup, run as shipped: nats-server loads deploy/nats/jetbus-accounts.conf
 * unchanged (it includes jetbus-permissions.conf); only the users' public keys come from the environment,
 * made by `jetbus nkeys` as an operator would. The operator provisions; then the dispatcher, the coordinator
 * and a worker run as PROCESSES on their own users, and an application client on its own:
 * - a job, a batch with callbacks and a cancelled batch go through with no permission error anywhere;
 * - the operator's tools work (queues, dlq list/replay, prune), and so does the console on the operator role
 *   (queues, a batch's failed members, pause and resume, a bulk count);
 * - every row of the allow/deny table holds (permission-checks.ts);
 * - a worker cannot serve a queue its role does not hold, and one scheduling into another queue is refused;
 * - connections without (or with unknown) credentials are refused;
 * - no seed appears in any log line or CLI output.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { jetstream } from "@nats-io/jetstream";
import { headers, nkeys, type NatsConnection } from "@nats-io/transport-node";
import { makeNkeys } from "../../cli/nkeys.ts";
import { job, type Bus, type BusEvent } from "../../shared/index.ts";
import { connectNats } from "../../shared/nats/connection.ts";
import { HEADERS } from "../../shared/protocol/headers.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { startNatsServer, waitFor, type NatsServer } from "../../shared/testkit/index.ts";
import { runCli } from "../helpers/cli.ts";
import { metricsOf, metricSum } from "../helpers/process-kit.ts";
import { ProcessPool, spawnService, type ServiceProcess } from "../helpers/processes.ts";
import { attempt, CHECKS, type Role } from "./permission-checks.ts";
import { loadConfig as loadConsoleConfig } from "../../services/console/config.ts";
import { startConsole } from "../../services/console/main.ts";
import { startHttp } from "../../shared/service/http.ts";
import { ConsoleClient, operatorEntries } from "../helpers/console.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ACCOUNTS = join(root, "deploy/nats/jetbus-accounts.conf");
const INBOX: Record<Role, string> = {
  dispatcher: "_INBOX.dispatcher",
  coordinator: "_INBOX.coordinator",
  worker: "_INBOX.worker",
  client: "_INBOX.client",
  "client-worker": "_INBOX.client",
  operator: "_INBOX.operator",
};

let server: NatsServer;
let keys: string;
const seed = (role: Role) => join(keys, `${role}.nk`);
const pool = new ProcessPool(() => server.url);
const services: ServiceProcess[] = [];
const cliOutput: string[] = [];
let client: Bus;

const silent = () => createLogger("perm-test", process.env.TEST_LOG_LEVEL ?? "silent");
const asRole = (role: Role) => ({ NATS_NKEY_SEED_FILE: seed(role) });
const operatorCli = async (args: string[]) => {
  const r = await runCli(args, server.url, { env: asRole("operator") });
  cliOutput.push(r.stdout, r.stderr);
  return r;
};

before(async () => {
  keys = mkdtempSync(join(tmpdir(), "jetbus-nkeys-"));
  server = await startNatsServer({ configFile: ACCOUNTS, env: makeNkeys(keys) });
  // Provisioning is the operator's: the services' users may not create streams or buckets.
  const op = await connectBus({
    servers: server.url,
    nkeySeedFile: seed("operator"),
    inboxPrefix: INBOX.operator,
    logger: silent(),
  });
  await op.shutdown();
  services.push(
    ...(await Promise.all([
      pool.spawn("dispatcher", asRole("dispatcher")),
      pool.spawn("coordinator", asRole("coordinator")),
      pool.spawn("worker", {
        ...asRole("worker"),
        JETBUS_HANDLERS: "./examples/handlers.ts",
        JETBUS_QUEUES: "default",
      }),
    ])),
  );
  client = await connectBus({ servers: server.url, nkeySeedFile: seed("client"), logger: silent() });
});

after(async () => {
  await client?.shutdown();
  await pool.stopAll();
  await server?.stop();
});

async function roleConnection(role: Role): Promise<NatsConnection> {
  return connectNats({
    servers: server.url,
    name: `perm-${role}`,
    nkeySeedFile: seed(role),
    inboxPrefix: INBOX[role],
  });
}

describe("each role on its own user", () => {
  it("a job, a batch with callbacks and a cancelled batch run through, with no permission error", async () => {
    const events: BusEvent[] = [];
    const sub = client.observe((e) => void events.push(e), { fromSeq: 1 });
    await sub.ready;

    const { dispatchId } = await client.dispatch(job("demo:hello", { name: "perm" }));
    assert.equal((await client.wait(dispatchId, { timeout: 20_000 })).status, "succeeded");

    // A job sent without a done notice: its wait subscribes where the result is stored, which the role allows.
    const refusals = async () =>
      (await metrics.natsPermissionErrors.get()).values.reduce((n, v) => n + v.value, 0);
    const refusedBefore = await refusals();
    const [bulk] = await client.dispatchMany([job("demo:hello", { name: "bulk" })]);
    assert.ok(bulk?.ok, JSON.stringify(bulk));
    assert.equal((await client.wait(bulk.dispatchId, { timeout: 20_000 })).status, "succeeded");
    assert.equal(await refusals(), refusedBefore, "the client's subscriptions were all allowed");

    const batchId = await client
      .batch(job("demo:hello", { name: "a" }), job("demo:hello", { name: "b" }))
      .then(job("demo:then"))
      .finally(job("demo:finally"))
      .dispatch();
    await client.wait(batchId, { timeout: 20_000 });
    await waitFor(
      "then and finally to succeed",
      () =>
        ["then", "finally"].every((cb) =>
          events.some((e) => e.kind === "callback_succeeded" && e.batchId === batchId && e.callback === cb),
        ),
      { timeoutMs: 20_000 },
    );
    const done = await client.findBatch(batchId);
    assert.deepEqual([done.processed, done.failed, done.completed], [2, 0, true]);

    const later = await client.batch(job("demo:hello").delay(60_000)).dispatch();
    await client.cancelBatch(later, "perm test");
    assert.equal((await client.findBatch(later)).cancelled, true);
    await sub.stop();

    for (const sp of services) {
      const text = await metricsOf(sp);
      assert.equal(metricSum(text, "jetbus_nats_permission_errors_total"), 0, `${sp.name}: no refusals`);
      assert.ok(!sp.lines.some((l) => l.includes("Permissions Violation")), `${sp.name} logged no violation`);
    }
  });

  it("the operator's tools: queues, dead letters listed and replayed, prune", async () => {
    const { dispatchId } = await client.dispatch(job("demo:fail"));
    assert.equal((await client.wait(dispatchId, { timeout: 20_000 })).status, "failed");
    const queues = await operatorCli(["queues"]);
    assert.equal(queues.code, 0, queues.stderr);
    assert.match(queues.stdout, /demo:hello/);
    const listed = await waitFor(
      "the dead letter to be listed",
      async () => {
        const r = await operatorCli(["dlq", "list", "--type", "demo:fail"]);
        assert.equal(r.code, 0, r.stderr);
        return /^\s*(\d+)\s+default\s+demo:fail/m.exec(r.stdout);
      },
      { timeoutMs: 15_000 },
    );
    const replay = await operatorCli(["dlq", "replay", listed[1]!]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`as ${dispatchId}`));
    const prune = await operatorCli(["prune", "--before", new Date(Date.now() - 60_000).toISOString()]);
    assert.equal(prune.code, 0, prune.stderr);
  });
});

describe("the console on the operator role", () => {
  it("reads queues and a batch's failed members, pauses and resumes, counts by filter", async () => {
    const nc = await roleConnection("operator");
    const log = silent();
    const running = await startConsole({
      nc,
      log,
      config: loadConsoleConfig({
        NATS_URL: server.url,
        JETBUS_CONSOLE_USERS: await operatorEntries({ ada: "correct horse battery staple" }),
      }),
    });
    const http = await startHttp("127.0.0.1", 0, { notReadyReason: () => null }, { listener: running.http! });
    try {
      const c = new ConsoleClient(`http://127.0.0.1:${http.port}`);
      assert.equal((await c.signIn("ada", "correct horse battery staple")).status, 200);
      const id = await client.batch(job("demo:hello"), job("demo:fail")).allowFailures().dispatch();
      await client.wait(id, { timeout: 20_000 });
      assert.equal((await c.get(`/api/batches/${id}`)).body.failed, 1);
      const letters = (await c.get(`/api/dlq?batch=${id}`)).body.letters as { type: string }[];
      assert.deepEqual(
        letters.map((l) => l.type),
        ["demo:fail"],
      );
      const rows = (await c.get("/api/queues")).body.rows as { type: string }[];
      assert.ok(rows.some((r) => r.type === "demo:hello"));
      for (const action of ["pause", "resume"])
        assert.equal(
          (await c.post(`/api/queues/${action}`, { queue: "default", type: "demo:hello" })).status,
          200,
        );
      assert.equal((await c.post("/api/dlq/count", { batch: id })).body.count, 1);
    } finally {
      await running.drain();
      await http.close();
      await nc.close();
    }
  });
});

describe("allow and deny, per role", () => {
  it(`${CHECKS.length} checks: each role may do its own job and nothing else`, async () => {
    assert.ok(CHECKS.length >= 40, `at least 40 checks (${CHECKS.length})`);
    const roles = [...new Set(CHECKS.map((c) => c.role))];
    const conns = new Map(await Promise.all(roles.map(async (r) => [r, await roleConnection(r)] as const)));
    try {
      const results = await Promise.all(CHECKS.map((c) => attempt(conns.get(c.role)!, c)));
      const wrong = CHECKS.flatMap((c, i) => {
        const expected = c.allowed ? "allowed" : "denied";
        return results[i] === expected
          ? []
          : [`${c.role}: ${c.action} (${c.pub ?? c.sub}) was ${results[i]}, expected ${expected}`];
      });
      assert.deepEqual(wrong, [], wrong.join("\n"));
    } finally {
      await Promise.all([...conns.values()].map((nc) => nc.close()));
    }
  });

  it("a refused publish is logged with its subject and counted in jetbus_nats_permission_errors_total", async () => {
    // A number, not prom-client's sample object: that one is live and moves with the counter.
    const refused = async () =>
      (await metrics.natsPermissionErrors.get()).values.find((v) => v.labels.operation === "publish")
        ?.value ?? 0;
    const before = await refused();
    const seen: string[] = [];
    const nc = await connectNats({
      servers: server.url,
      name: "perm-metric",
      nkeySeedFile: seed("client"),
      inboxPrefix: INBOX.client,
      onStatus: (type, data) => {
        if (type === "error") seen.push(String(data));
      },
    });
    try {
      nc.publish(subjects.job("default", "demo:hello"), "{}");
      await nc.flush();
      await waitFor("the refusal to be counted", async () => (await refused()) === before + 1);
      assert.ok(
        seen.some((s) => s.includes(subjects.job("default", "demo:hello"))),
        seen.join("\n"),
      );
    } finally {
      await nc.close();
    }
  });

  it("a worker cannot serve a queue its role does not hold: one clear line, exit 1", async () => {
    const w = await spawnService(
      "worker",
      server.url,
      { ...asRole("worker"), JETBUS_HANDLERS: "./examples/handlers.ts", JETBUS_QUEUES: "perm-other" },
      { waitReady: false },
    );
    services.push(w);
    assert.notEqual(await w.exited, 0);
    const all = w.lines.join("\n");
    assert.match(all, /does not exist, and this NATS user may not create it/);
    assert.match(all, /Permissions Violation for Publish to .*CONSUMER\.CREATE\.JETBUS_JOBS/);
  });

  it("a job scheduled from one queue's wait subjects into another queue is dead-lettered, not run", async () => {
    // The operator runs a worker on a second queue; the default worker's user schedules into it.
    const other = await pool.spawn("worker", {
      ...asRole("operator"),
      NATS_INBOX_PREFIX: INBOX.operator,
      JETBUS_HANDLERS: "./examples/handlers.ts",
      JETBUS_QUEUES: "perm-forged",
    });
    services.push(other);
    const nc = await roleConnection("worker");
    try {
      const h = headers();
      h.set(HEADERS.schedule, `@at ${new Date(Date.now() - 1_000).toISOString()}`);
      h.set(HEADERS.scheduleTarget, subjects.due("perm-forged", "demo:hello"));
      const envelope = { v: 1, job_id: "job_forged", dispatch_id: "dsp_forged", type: "demo:hello" };
      await jetstream(nc).publish(
        subjects.wait("default", "demo:hello", "forged"),
        JSON.stringify(envelope),
        {
          headers: h,
        },
      );
    } finally {
      await nc.close();
    }
    await other.waitForLine("job scheduled from another queue: refused", 20_000);
    const op = await connectBus({
      servers: server.url,
      nkeySeedFile: seed("operator"),
      inboxPrefix: INBOX.operator,
      provision: false,
      logger: silent(),
    });
    try {
      const letters = await waitFor("the forged job's dead letter", async () => {
        const l = await op.deadLetters.list({ queue: "_invalid" });
        return l.find((d) => d.sourceSubject === subjects.job("perm-forged", "demo:hello")) ?? null;
      });
      assert.equal(letters.error.code, "PERMISSION_DENIED");
      assert.equal(letters.reason, "malformed");
    } finally {
      await op.shutdown();
    }
  });
});

describe("credentials refused", () => {
  it("no credentials, or an nkey the server does not know: UNAUTHORIZED", async () => {
    await assert.rejects(connectNats({ servers: server.url, name: "anon" }), { code: "UNAUTHORIZED" });
    const stranger = join(keys, "stranger.nk");
    const kp = nkeys.createUser();
    writeFileSync(stranger, new TextDecoder().decode(kp.getSeed()));
    await assert.rejects(
      connectNats({ servers: server.url, name: "stranger", nkeySeedFile: stranger }),
      (err) => {
        assert.equal((err as { code?: string }).code, "UNAUTHORIZED");
        assert.match((err as Error).message, new RegExp(kp.getPublicKey()));
        return true;
      },
    );
  });

  it("a service without credentials logs one UNAUTHORIZED line and exits 1, never ready", async () => {
    const sp = await spawnService("coordinator", server.url, {}, { waitReady: false });
    services.push(sp);
    assert.equal(await sp.exited, 1);
    assert.ok(
      sp.lines.some((l) => l.includes('"code":"UNAUTHORIZED"')),
      sp.lines.join("\n"),
    );
    assert.ok(!sp.lines.some((l) => l.includes('"coordinator ready"')));
  });
});

describe("secrets", () => {
  it("no seed appears in any service log or CLI output", () => {
    const seeds = readdirSync(keys)
      .filter((f) => f.endsWith(".nk"))
      .map((f) => readFileSync(join(keys, f), "utf8").trim());
    assert.ok(seeds.length >= 6);
    const text = [...services.flatMap((s) => s.lines), ...cliOutput].join("\n");
    assert.ok(text.length > 1_000, "there is output to search");
    for (const s of seeds) assert.ok(!text.includes(s), "a seed leaked into the output");
    assert.ok(!/\bSU[A-Z2-7]{50,}/.test(text), "nothing that looks like a user seed");
  });
});

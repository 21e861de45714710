/**
 * @module
 * Service configuration: each service's pure `loadConfig(env)` reports EVERY bad key in one ConfigError, and
 * each service process refuses to start on bad env with all the problems on stderr and a non-zero exit.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig as coordinatorConfig } from "../../services/coordinator/config.ts";
import { loadConfig as dispatcherConfig } from "../../services/dispatcher/config.ts";
import { loadConfig as workerConfig } from "../../services/worker/config.ts";
import { ConfigError, type Env } from "../../shared/service/env.ts";
import { spawnService } from "../helpers/processes.ts";

const loaders = {
  dispatcher: dispatcherConfig,
  coordinator: coordinatorConfig,
  worker: (env: Env) => workerConfig({ JETBUS_HANDLERS: "./examples/handlers.ts", ...env }),
} as const;

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, "CONFIG");
    for (const p of err.problems) assert.ok(err.message.includes(p), `message lists "${p}"`);
    return err.problems;
  }
  assert.fail("expected loadConfig to throw");
}

describe("loadConfig(env) (pure)", () => {
  for (const [name, load] of Object.entries(loaders)) {
    it(`${name}: defaults load, and env values are read`, () => {
      const cfg = load({});
      assert.deepEqual(cfg.common.natsServers, ["127.0.0.1:4222"]);
      assert.equal(cfg.common.topology.replicas, 1);
      const set = load({
        NATS_URL: "a:1, b:2",
        JETBUS_HTTP_PORT: "0",
        JETBUS_REPLICAS: "3",
        JETBUS_ACK_WAIT_MS: "2000",
        LOG_LEVEL: "debug",
      });
      assert.deepEqual(set.common.natsServers, ["a:1", "b:2"]);
      assert.equal(set.common.httpPort, 0);
      assert.equal(set.common.topology.replicas, 3);
      assert.equal(set.common.topology.ackWaitMs, 2000);
      assert.equal(set.common.logLevel, "debug");
    });

    it(`${name}: the new topology limits are read; a retired key (JETBUS_JANITOR_INTERVAL_MS) still loads`, () => {
      const cfg = load({
        JETBUS_DLQ_MAX_BYTES: "1048576",
        JETBUS_RESULTS_MAX_BYTES: "-1",
        JETBUS_JANITOR_INTERVAL_MS: "60000",
      });
      assert.equal(cfg.common.topology.deadLetterMaxBytes, 1_048_576);
      assert.equal(cfg.common.topology.resultsMaxBytes, -1);
      assert.deepEqual(
        problemsOf(() => load({ JETBUS_DLQ_MAX_BYTES: "-2" })),
        ["JETBUS_DLQ_MAX_BYTES=-2 is below the minimum -1"],
      );
    });

    it(`${name}: reports every bad key at once`, () => {
      const problems = problemsOf(() =>
        load({
          JETBUS_HTTP_PORT: "abc",
          JETBUS_REPLICAS: "0",
          JETBUS_ACK_WAIT_MS: "1.5",
          LOG_LEVEL: "loud",
          JETBUS_DRAIN_TIMEOUT_MS: "-1",
          NATS_USER: "app",
        }),
      );
      const text = problems.join("\n");
      for (const key of [
        "JETBUS_HTTP_PORT",
        "JETBUS_REPLICAS",
        "JETBUS_ACK_WAIT_MS",
        "LOG_LEVEL",
        "JETBUS_DRAIN_TIMEOUT_MS",
        "NATS_PASS",
      ])
        assert.match(text, new RegExp(key), `problems mention ${key}:\n${text}`);
      assert.ok(problems.length >= 6, text);
      assert.match(text, /JETBUS_HTTP_PORT="abc" is not a whole number/);
      assert.match(text, /JETBUS_REPLICAS=0 is below the minimum 1/);
    });
  }

  it("dispatcher: its own keys and cross-key checks", () => {
    const text = problemsOf(() =>
      dispatcherConfig({
        JETBUS_MAX_PAYLOAD_BYTES: "2000000",
        JETBUS_DEFAULT_QUEUE: "bad queue",
        JETBUS_SCHEDULER: "maybe",
      }),
    ).join("\n");
    assert.match(text, /JETBUS_MAX_PAYLOAD_BYTES/);
    assert.match(text, /JETBUS_DEFAULT_QUEUE/);
    assert.match(text, /JETBUS_SCHEDULER/);
    assert.equal(dispatcherConfig({ JETBUS_SCHEDULER: "off" }).runScheduler, false);
  });

  it("coordinator: its own keys and cross-key checks", () => {
    const text = problemsOf(() =>
      coordinatorConfig({
        JETBUS_RECONCILE_INTERVAL_MS: "10",
        JETBUS_OUTBOX_STALE_MS: "90000",
        JETBUS_OUTCOME_GROUP: "x",
      }),
    ).join("\n");
    assert.match(text, /JETBUS_RECONCILE_INTERVAL_MS=10 is below the minimum 100/);
    assert.match(text, /JETBUS_OUTBOX_STALE_MS/);
    assert.match(text, /JETBUS_OUTCOME_GROUP/);
    assert.equal(coordinatorConfig({ JETBUS_RECONCILE_INTERVAL_MS: "500" }).reconcileIntervalMs, 500);
  });

  it("worker: handlers are required, queues and concurrency are checked", () => {
    const text = problemsOf(() => workerConfig({ JETBUS_QUEUES: "ok,not ok", JETBUS_CONCURRENCY: "0" })).join(
      "\n",
    );
    assert.match(text, /JETBUS_HANDLERS is required/);
    assert.match(text, /JETBUS_QUEUES has an invalid queue name "not ok"/);
    assert.match(text, /JETBUS_CONCURRENCY=0 is below the minimum 1/);
    const cfg = workerConfig({ JETBUS_HANDLERS: "a.ts, b.ts", JETBUS_QUEUES: "q1,q2" });
    assert.deepEqual(cfg.handlers, ["a.ts", "b.ts"]);
    assert.deepEqual(cfg.queues, ["q1", "q2"]);
  });

  it("NATS credentials: each way is read, and combinations that cannot work are reported together", () => {
    assert.deepEqual(dispatcherConfig({}).common.natsAuth, {});
    const tls = dispatcherConfig({
      NATS_NKEY_SEED_FILE: "/s/worker.nk",
      NATS_TLS_CA: "/t/ca.pem",
      NATS_TLS_CERT: "/t/client.pem",
      NATS_TLS_KEY: "/t/client-key.pem",
      NATS_INBOX_PREFIX: "_INBOX.w1",
    }).common.natsAuth;
    assert.deepEqual(tls, {
      nkeySeedFile: "/s/worker.nk",
      tls: { caFile: "/t/ca.pem", certFile: "/t/client.pem", keyFile: "/t/client-key.pem" },
      inboxPrefix: "_INBOX.w1",
    });
    assert.equal(
      coordinatorConfig({ NATS_CREDS_FILE: "/c/u.creds" }).common.natsAuth.credsFile,
      "/c/u.creds",
    );
    assert.deepEqual(coordinatorConfig({ NATS_TLS_CA: "/t/ca.pem" }).common.natsAuth.tls, {
      caFile: "/t/ca.pem",
    });
    const text = problemsOf(() =>
      coordinatorConfig({
        NATS_PASS: "secret",
        NATS_TOKEN: "tok",
        NATS_CREDS_FILE: "/c/u.creds",
        NATS_TLS_KEY: "/t/client-key.pem",
        NATS_INBOX_PREFIX: "_INBOX.*",
      }),
    ).join("\n");
    assert.match(text, /NATS_PASS is set without NATS_USER/);
    assert.match(
      text,
      /set one way to authenticate, not NATS_USER\/NATS_PASS and NATS_TOKEN and NATS_CREDS_FILE/,
    );
    assert.match(text, /NATS_TLS_KEY is set without NATS_TLS_CERT/);
    assert.match(text, /NATS_INBOX_PREFIX="_INBOX.\*" must be dot-separated subject tokens/);
    assert.match(
      problemsOf(() => workerConfig({ JETBUS_HANDLERS: "h.ts", NATS_TLS_CERT: "/c.pem" })).join(),
      /NATS_TLS_CERT is set without NATS_TLS_KEY/,
    );
    assert.ok(!text.includes("secret"), "a problem never quotes a secret");
  });
});

describe("service processes on bad env", () => {
  it("each service exits non-zero and names every bad key", async () => {
    // Never reaches NATS: the config is checked first. The URL is a closed port, not the shared server.
    const bad = { JETBUS_HTTP_PORT: "abc", JETBUS_REPLICAS: "0", JETBUS_HANDLERS: "./examples/handlers.ts" };
    const names = ["dispatcher", "coordinator", "worker"] as const;
    const procs = await Promise.all(
      names.map((n) => spawnService(n, "127.0.0.1:1", bad, { waitReady: false })),
    );
    const codes = await Promise.all(procs.map((p) => p.exited));
    for (const [i, p] of procs.entries()) {
      const out = p.lines.join("\n");
      assert.notEqual(codes[i], 0, `${p.name} exit code`);
      assert.ok(codes[i] !== null, `${p.name} exited by itself`);
      assert.match(out, /invalid configuration/, `${p.name}:\n${out}`);
      assert.match(out, /JETBUS_HTTP_PORT="abc" is not a whole number/, `${p.name}:\n${out}`);
      assert.match(out, /JETBUS_REPLICAS=0 is below the minimum 1/, `${p.name}:\n${out}`);
      assert.doesNotMatch(out, /ready/, `${p.name} never became ready`);
    }
  });
});

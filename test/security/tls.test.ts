/**
 * @module
 * TLS with a private CA and client certificates (`verify: true`), certificates made with openssl in the test:
 * the three services as PROCESSES and a connectBus client, each given NATS_TLS_CA/CERT/KEY (or `tls`), run a
 * job. What goes wrong says so: without the CA the handshake fails at once (TLS); without a client
 * certificate the server's silence shows up as a time-out, retried with a hint naming NATS_TLS_CERT; a key
 * file that is not there stops a service with one CONFIG line.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { connectNats } from "../../shared/nats/connection.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import { ProcessPool, spawnService } from "../helpers/processes.ts";
import { makeTestPki, mutualTlsConfig, type TestPki } from "../helpers/tls-certs.ts";

let pki: TestPki;
let server: NatsServer;
let bus: Bus;
const pool = new ProcessPool(() => server.url);

before(async () => {
  pki = makeTestPki();
  server = await startNatsServer({ config: mutualTlsConfig(pki) });
});

after(async () => {
  await bus?.shutdown();
  await pool.killAll();
  await server?.stop();
});

describe("mutual TLS", () => {
  it("services and connectBus with a CA and a client certificate run a job", async () => {
    assert.match(server.url, /^tls:\/\//, "the server requires TLS");
    const env = { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey };
    await Promise.all([
      pool.spawn("dispatcher", env),
      pool.spawn("coordinator", env),
      pool.spawn("worker", { ...env, JETBUS_HANDLERS: "./examples/handlers.ts" }),
    ]);
    bus = await connectBus({
      servers: server.url,
      tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey },
      logger: createLogger("tls-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    });
    const { dispatchId } = await bus.dispatch(job("demo:hello", { name: "tls" }));
    const outcome = await bus.wait(dispatchId, { timeout: 20_000 });
    assert.equal(outcome.status, "succeeded");
  });

  it("without the private CA the handshake fails at once with TLS", async () => {
    const t0 = Date.now();
    await assert.rejects(
      connectNats({
        servers: server.url,
        name: "no-ca",
        tls: { certFile: pki.clientCert, keyFile: pki.clientKey },
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "TLS");
        assert.match(err.message, /NATS_TLS_CA/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 5_000, "no retries");
  });

  it("without a client certificate: a time-out, retried with a hint naming NATS_TLS_CERT", async () => {
    const hints: (string | null)[] = [];
    await assert.rejects(
      connectNats({
        servers: server.url,
        name: "no-cert",
        timeoutMs: 1_000,
        tls: { caFile: pki.ca },
        onRetry: (_err, attempt, hint) => {
          hints.push(hint);
          if (attempt >= 1) throw new Error("stop retrying");
        },
      }),
      /stop retrying/,
    );
    assert.match(hints[0] ?? "", /NATS_TLS_CERT/);
  });

  it("a service without a client certificate keeps retrying, says why, and is never ready", async () => {
    const sp = await spawnService(
      "coordinator",
      server.url,
      { NATS_TLS_CA: pki.ca, JETBUS_HTTP_PORT: "0" },
      { waitReady: false },
    );
    try {
      const line = await sp.waitForLine("cannot connect to NATS yet; retrying", 20_000);
      assert.match(line, /NATS_TLS_CERT/);
      assert.ok(!sp.lines.some((l) => l.includes('"coordinator ready"')));
    } finally {
      await sp.kill();
    }
  });

  it("a client key file that is not there: one CONFIG line, exit 1", async () => {
    const sp = await spawnService(
      "dispatcher",
      server.url,
      { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: `${pki.dir}/missing.pem` },
      { waitReady: false },
    );
    assert.equal(await sp.exited, 1);
    const line = sp.lines.find((l) => l.includes('"code":"CONFIG"')) ?? "";
    assert.match(line, /cannot read the TLS client key .*missing\.pem: ENOENT/);
  });
});

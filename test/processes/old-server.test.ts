/**
 * @module
 * Debian's own nats-server (bookworm's /usr/sbin/nats-server is 2.9.10) is refused, never half-used:
 * `connectBus` throws `UNSUPPORTED_SERVER` before provisioning anything and closes its connection; a service
 * process logs the error as one line and exits 1 without becoming ready; and a service that reconnects onto
 * an older server (same address, server swapped) logs the error and reports not-ready. Skipped, with the
 * reason, on machines without such a binary.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { SERVER_FLOOR, atLeast } from "../../shared/protocol/server-version.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import {
  natsServerVersion,
  NatsServerStartError,
  startNatsServer,
  waitFor,
  type NatsServer,
} from "../../shared/testkit/index.ts";
import { httpGet, httpPort, jsonLines } from "../helpers/process-kit.ts";
import { spawnService } from "../helpers/processes.ts";

const OLD = "/usr/sbin/nats-server";
const oldVersion = existsSync(OLD) ? natsServerVersion(OLD) : null;
const skip =
  oldVersion === null
    ? `no ${OLD} on this machine (Debian's package); nothing old to refuse`
    : atLeast(oldVersion, SERVER_FLOOR)
      ? `${OLD} is v${oldVersion}, not older than ${SERVER_FLOOR}`
      : false;
if (skip) console.log(`# skipping the old-server tests: ${skip}`);

const silent = createLogger("test", "silent");

/** Streams on the server, read over a raw connection: an old server must be left untouched. */
async function streamNames(url: string): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const names: string[] = [];
    for await (const n of (await jetstreamManager(nc)).streams.names()) names.push(n);
    return names;
  } finally {
    await nc.close();
  }
}

/** Client connections the server has open (its own monitoring), to prove a refused client let go. */
async function connectionNames(server: NatsServer): Promise<string[]> {
  const res = await fetch(`${server.monitorUrl}/connz`, { signal: AbortSignal.timeout(2_000) });
  const body = (await res.json()) as { connections?: { name?: string }[] };
  return (body.connections ?? []).map((c) => c.name ?? "");
}

void describe(`Debian's nats-server ${oldVersion ?? "(absent)"}`, { skip }, () => {
  let old: NatsServer;
  before(async () => {
    old = await startNatsServer({ binary: OLD, name: "debian-old" });
  });
  after(() => old?.stop());

  it("is refused by connectBus before anything is provisioned, and the connection is closed", async () => {
    await assert.rejects(
      connectBus({ servers: old.url, name: "refused-bus", logger: silent }),
      (err: Error & { code?: string; details?: unknown }) => {
        assert.equal(err.code, "UNSUPPORTED_SERVER");
        assert.match(
          err.message,
          new RegExp(`nats-server ${oldVersion!.replace(/\./g, "\\.")} is not supported`),
        );
        assert.match(err.message, /needs nats-server 2\.12 or newer/);
        assert.match(err.message, /scripts\/fetch-nats-server\.sh/);
        assert.deepEqual(err.details, { server: oldVersion, needs: SERVER_FLOOR });
        return true;
      },
    );
    assert.deepEqual(await streamNames(old.url), []);
    await waitFor("the refused bus's connection to be gone", async () =>
      (await connectionNames(old)).includes("refused-bus") ? false : true,
    );
  });

  it("is refused by a service process: one error line, exit 1, never ready", async () => {
    const sp = await spawnService("dispatcher", old.url, {}, { waitReady: false });
    const code = await sp.exited;
    assert.equal(code, 1, sp.lines.join("\n"));
    const errors = jsonLines(sp).filter((l) => l.code === "UNSUPPORTED_SERVER");
    assert.equal(errors.length, 1, sp.lines.join("\n"));
    assert.match(
      String(errors[0]!.msg),
      /nats-server 2\.\d+\.\d+ is not supported: jetbus needs nats-server 2\.12/,
    );
    assert.ok(!sp.lines.some((l) => l.includes('"dispatcher ready"')), "never ready");
    assert.deepEqual(await streamNames(old.url), [], "nothing provisioned");
  });
});

void describe("a service whose server is swapped for an old one at the same address", { skip }, () => {
  let current: NatsServer;
  let old: NatsServer | undefined;
  after(async () => {
    await old?.stop();
    await current?.stop();
  });

  it("logs UNSUPPORTED_SERVER after the reconnect and reports not-ready", async () => {
    current = await startNatsServer({ name: "current" });
    const url = current.url;
    const sp = await spawnService("coordinator", url);
    try {
      const port = await httpPort(sp);
      assert.equal((await httpGet(port, "/readyz")).status, 200);
      await current.stop();
      // The old server takes the same client port, so the service's reconnect lands on it.
      old = await waitFor(
        "the old server to start on the freed port",
        () =>
          startNatsServer({ binary: OLD, name: "swapped-old", args: ["-p", String(current.port)] }).catch(
            (err: unknown) => {
              if (err instanceof NatsServerStartError && err.addressInUse) return null;
              throw err;
            },
          ),
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      const line = await sp.waitForLine(/"code":"UNSUPPORTED_SERVER"/, 20_000);
      assert.match(line, new RegExp(`"server_version":"${oldVersion!.replace(/\./g, "\\.")}"`));
      const ready = await waitFor("/readyz to say why it is not ready", async () => {
        const r = await httpGet(port, "/readyz");
        return r.status === 503 ? r : null;
      });
      assert.match(ready.body, /is not supported: jetbus needs nats-server 2\.12/);
    } finally {
      await sp.kill();
    }
  });
});

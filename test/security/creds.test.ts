/**
 * @module
 * `.creds` files against a server in operator (JWT) mode: the operator, the account (with JetStream) and the
 * users are made here with @nats-io/jwt (Debian has no `nsc`) and preloaded with `resolver: MEMORY`. The three
 * services as PROCESSES (NATS_CREDS_FILE) and a connectBus client (`credsFile`) run a job; a user whose JWT
 * has expired is refused with UNAUTHORIZED; a file that is not a .creds file stops a service with one CONFIG line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type KeyPair,
} from "@nats-io/jwt";
import { job, type Bus } from "../../shared/index.ts";
import { connectNats } from "../../shared/nats/connection.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";
import { ProcessPool, spawnService } from "../helpers/processes.ts";

let server: NatsServer;
let bus: Bus;
let dir: string;
let account: KeyPair;
const pool = new ProcessPool(() => server.url);

/** A .creds file for a new user of the account; `expiredSecondsAgo` backdates its JWT's expiry. */
async function userCreds(name: string, expiredSecondsAgo?: number): Promise<string> {
  const user = createUser();
  const opts = expiredSecondsAgo ? { exp: Math.floor(Date.now() / 1000) - expiredSecondsAgo } : {};
  const jwt = await encodeUser(name, user, account, {}, opts);
  const path = join(dir, `${name}.creds`);
  writeFileSync(path, fmtCreds(jwt, user), { mode: 0o600 });
  return path;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "jetbus-creds-"));
  const operator = createOperator();
  const system = createAccount();
  account = createAccount();
  const operatorJwt = await encodeOperator("jetbus-test", operator, {
    system_account: system.getPublicKey(),
  });
  const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
  const accountJwt = await encodeAccount(
    "JETBUS",
    account,
    // Unset limits are 0 (no connections at all): every one is given.
    {
      limits: {
        ...{ conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, leaf: -1, wildcards: true },
        ...{ mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
      },
    },
    { signer: operator },
  );
  server = await startNatsServer({
    config: [
      `operator: ${operatorJwt}`,
      `system_account: ${system.getPublicKey()}`,
      "resolver: MEMORY",
      `resolver_preload: {\n  ${system.getPublicKey()}: ${systemJwt}\n  ${account.getPublicKey()}: ${accountJwt}\n}`,
    ].join("\n"),
  });
});

after(async () => {
  await bus?.shutdown();
  await pool.killAll();
  await server?.stop();
});

describe(".creds in operator mode", () => {
  it("services (NATS_CREDS_FILE) and connectBus (credsFile) run a job", async () => {
    const [d, c, w] = await Promise.all([
      userCreds("dispatcher"),
      userCreds("coordinator"),
      userCreds("worker"),
    ]);
    await Promise.all([
      pool.spawn("dispatcher", { NATS_CREDS_FILE: d }),
      pool.spawn("coordinator", { NATS_CREDS_FILE: c }),
      pool.spawn("worker", { NATS_CREDS_FILE: w, JETBUS_HANDLERS: "./examples/handlers.ts" }),
    ]);
    bus = await connectBus({
      servers: server.url,
      credsFile: await userCreds("client"),
      logger: createLogger("creds-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    });
    const { dispatchId } = await bus.dispatch(job("demo:hello", { name: "creds" }));
    assert.equal((await bus.wait(dispatchId, { timeout: 20_000 })).status, "succeeded");
  });

  it("an expired user JWT is refused: UNAUTHORIZED, no retries", async () => {
    const creds = await userCreds("expired", 60);
    await assert.rejects(connectNats({ servers: server.url, name: "expired", credsFile: creds }), {
      code: "UNAUTHORIZED",
    });
  });

  it("a file that is not a .creds file: one CONFIG line, exit 1", async () => {
    const bogus = join(dir, "bogus.creds");
    writeFileSync(bogus, "not a creds file\n");
    const sp = await spawnService(
      "coordinator",
      server.url,
      { NATS_CREDS_FILE: bogus },
      { waitReady: false },
    );
    assert.equal(await sp.exited, 1);
    assert.ok(
      sp.lines.some((l) => l.includes('"code":"CONFIG"') && l.includes("is not a NATS .creds file")),
      sp.lines.join("\n"),
    );
  });
});

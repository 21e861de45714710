/**
 * @module
 * The console's cap on concurrent dead-letter scans: over it a request is refused with RATE_LIMITED (429)
 * and not run; a finished or failed scan gives its slot back.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { Hono } from "hono";
import type { ConsoleEnv } from "../../services/console/deps.ts";
import { toResponse } from "../../services/console/middleware.ts";
import { scanSlot, ScanSlots } from "../../services/console/scan-slots.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";

it("refuses a scan over the cap with 429 RATE_LIMITED, and frees a slot when a scan ends or fails", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let runs = 0;
  const app = new Hono<ConsoleEnv>();
  app.get("/scan", scanSlot(new ScanSlots(1)), async (c) => {
    runs++;
    if (c.req.query("fail")) throw new Error("scan failed");
    await gate;
    return c.json({ ok: true });
  });
  app.onError(toResponse(createLogger("scan-slots-test", "silent")));
  const first = app.request("/scan");
  const refused = await app.request("/scan");
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "RATE_LIMITED");
  assert.equal(runs, 1);
  open();
  assert.equal((await first).status, 200);
  assert.equal((await app.request("/scan?fail=1")).status, 500);
  assert.equal((await app.request("/scan")).status, 200);
});

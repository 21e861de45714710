/**
 * @module
 * The console's event hub started before the events stream exists (the console provisions nothing, and
 * `npm start` starts it beside the services that do): it asks again until the stream is there, is ready only
 * then, passes a workflow's events on to the page watching it, and stops cleanly while still waiting.
 * The tests run in order on one server: the first two before the topology is provisioned, the last provisions it.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { startEventHub, type PageEvent } from "../../services/console/event-hub.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { provisionTopology } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { waitFor, withTimeout } from "../../shared/testkit/index.ts";
import { ownServer } from "../helpers/own-server.ts";

const s = ownServer();
const lines: string[] = [];
const log = createLogger("test", "warn", { write: (line: string) => void lines.push(line) });
const buses: Bus[] = [];
const bus = async () => {
  const b = await connectBus({ connection: s.nc, provision: false, logger: log, name: "hub-test" });
  buses.push(b);
  return b;
};
after(async () => {
  for (const b of buses) await b.shutdown();
});

it("stops while it is still waiting for the stream", async () => {
  const { hub, ready } = startEventHub(await bus(), log);
  await withTimeout(hub.stop(), 5_000, "the hub to stop");
  await withTimeout(ready, 1_000, "its start to give up");
});

it("follows the events stream once it exists, and is ready only then", async () => {
  lines.length = 0;
  const { hub, ready } = startEventHub(await bus(), log, { flushMs: 10 });
  let isReady = false;
  void ready.then(() => (isReady = true));
  try {
    await waitFor("the hub to try again while there is no events stream", () =>
      lines.some((l) => l.includes("cannot follow the events stream yet")),
    );
    assert.equal(isReady, false, "not ready without the stream");
    assert.ok(
      !lines.some((l) => l.includes('"level":"error"')),
      `nothing logged as an error: ${lines.join("")}`,
    );

    await provisionTopology(s.nc, s.jsm, DEFAULT_TOPOLOGY, createLogger("test", "silent"));
    await withTimeout(ready, 15_000, "the hub to follow the new stream");

    const got: PageEvent[] = [];
    hub.add({ workflowId: "bat_hub1", send: (e) => void got.push(e) });
    const publisher = new JetStreamPublisher(s.nc);
    const events = new EventBatcher(publisher, "hub-test", () => undefined);
    try {
      const stored = await events.add([
        {
          id: "bat_hub1.batch_progressed.1",
          kind: "batch_progressed",
          at: Date.now(),
          batch_id: "bat_hub1",
          counts: { total: 2, pending: 1, processed: 1, failed: 0 },
        },
      ]);
      assert.equal(stored, true);
      await waitFor("the page to get the batch's counts", () => got.length > 0);
      assert.deepEqual(got[0]!.data.counts, { total: 2, pending: 1, processed: 1, failed: 0 });
    } finally {
      publisher.close();
    }
  } finally {
    await hub.stop();
  }
});

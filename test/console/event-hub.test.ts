/**
 * @module
 * The console's event hub started before the events stream exists (the console provisions nothing, and
 * `npm start` starts it beside the services that do): it asks again until the stream is there, is ready only
 * then, and passes a workflow's events on to the page watching it.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { startEventHub, type PageEvent } from "../../services/console/event-hub.ts";
import { EventBatcher } from "../../shared/nats/event-batcher.ts";
import { provisionTopology } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { DEFAULT_TOPOLOGY } from "../../shared/nats/topology.ts";
import { connectBus } from "../../shared/sdk/nats-bus.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, waitFor, withTimeout, type NatsServer } from "../../shared/testkit/index.ts";

let server: NatsServer;
let nc: NatsConnection;
let bus: Bus;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
});
after(async () => {
  await bus?.shutdown();
  await nc?.close();
  await server?.stop();
});

it("follows the events stream once it exists, and is ready only then", async () => {
  const lines: string[] = [];
  const log = pino(
    { level: "warn" },
    { write: (line: string) => void lines.push(line) },
  ) as unknown as Logger;
  bus = await connectBus({ connection: nc, provision: false, logger: log, name: "hub-test" });
  const { hub, ready } = startEventHub(bus, log, { flushMs: 10 });
  let isReady = false;
  void ready.then(() => (isReady = true));
  try {
    await waitFor("the hub to try again while there is no events stream", () =>
      lines.some((l) => l.includes("cannot follow the events stream yet")),
    );
    assert.equal(isReady, false, "not ready without the stream");
    assert.ok(!lines.some((l) => l.includes('"level":50')), `nothing logged as an error: ${lines.join("")}`);

    await provisionTopology(nc, await jetstreamManager(nc), DEFAULT_TOPOLOGY, createLogger("test", "silent"));
    await withTimeout(ready, 15_000, "the hub to follow the new stream");

    const got: PageEvent[] = [];
    hub.add({ workflowId: "bat_hub1", send: (e) => void got.push(e) });
    const publisher = new JetStreamPublisher(nc);
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

it("stops while it is still waiting for the stream", async () => {
  const other = await startNatsServer();
  const onOther = await connect({ servers: other.url, noAsyncTraces: true });
  const log = createLogger("test", "silent");
  const b = await connectBus({ connection: onOther, provision: false, logger: log, name: "hub-test-2" });
  try {
    const { hub, ready } = startEventHub(b, log);
    await withTimeout(hub.stop(), 5_000, "the hub to stop");
    await withTimeout(ready, 1_000, "its start to give up");
  } finally {
    await b.shutdown();
    await onOther.close();
    await other.stop();
  }
});

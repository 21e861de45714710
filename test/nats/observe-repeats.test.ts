/**
 * @module
 * `bus.observe` drops a repeated event id, and a flood of job events does not make it forget a workflow's:
 * each kind of event has its own memory. Against a real server, with the memories made small.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { STREAMS } from "../../shared/protocol/names.ts";
import { STREAM_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { observeEvents } from "../../shared/sdk/events.ts";
import type { BusEvent } from "../../shared/sdk/types.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { ownServer } from "../helpers/own-server.ts";

const own = ownServer(async ({ jsm }) => {
  await jsm.streams.add({ name: STREAMS.events, subjects: [STREAM_SUBJECTS.events] });
});

const started = {
  id: "chn_00112233aabbccdd.chain_started",
  kind: "chain_started",
  at: 1,
  chain_id: "chn_00112233aabbccdd",
};
const jobEvent = (n: number) => ({
  id: `dsp_${n}.job_started.0`,
  kind: "job_started",
  at: 1,
  dispatch_id: `dsp_${n}`,
  job_id: `dsp_${n}`,
  type: "observe:test",
  queue: "default",
  attempt: 0,
});

describe("observe: repeated events", () => {
  it("a workflow event repeated after more job events than the memory holds is still delivered once", async () => {
    const js = jetstream(own.nc);
    const publish = (group: string, events: unknown[]) =>
      js.publish(`jetbus.events.${group}.test`, JSON.stringify({ v: 1, events }));
    await publish("workflow", [started]);
    await publish(
      "job",
      Array.from({ length: 50 }, (_, n) => jobEvent(n)),
    );
    await publish("workflow", [started]);
    await publish("job", [jobEvent(49), jobEvent(1_000)]); // the last job event again, and a new one

    const seen: BusEvent[] = [];
    const small = { entries: 10, maxAgeMs: 3_600_000 };
    const sub = observeEvents(js, (e) => void seen.push(e), { fromSeq: 1 }, createLogger("test", "silent"), {
      workflow: small,
      other: small,
    });
    await sub.ready;
    await waitFor("the last event", () => seen.some((e) => e.id === "dsp_1000.job_started.0"));
    await sub.stop();
    assert.equal(seen.filter((e) => e.id === started.id).length, 1, "the chain's start once");
    assert.equal(seen.filter((e) => e.id === "dsp_49.job_started.0").length, 1, "a recent job event once");
    assert.equal(seen.length, 52);
  });
});

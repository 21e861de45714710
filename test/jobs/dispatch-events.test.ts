/**
 * @module
 * Which dispatches emit events: a request refused on its own checks (schema, payload size, the uniqueFor
 * bound) emits none, like a body that is not even JSON; an accepted one emits `dispatch_started` and then
 * `dispatch_succeeded`, or `dispatch_failed` when it fails later (a live uniqueFor claim: DUPLICATE).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { BusEvent } from "../../shared/index.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";

let mesh: Mesh;
let nc: NatsConnection;
const events: BusEvent[] = [];
let stopObserving: () => Promise<void>;

before(async () => {
  mesh = await startMesh({ env: { JETBUS_MAX_PAYLOAD_BYTES: "1024" } });
  const client = await mesh.bus();
  const sub = client.observe((e) => {
    events.push(e);
  });
  await sub.ready;
  stopObserving = () => sub.stop();
  nc = await connect({ servers: mesh.url, noAsyncTraces: true });
});

after(async () => {
  await stopObserving?.();
  await nc?.close();
  await mesh?.stop();
});

async function dispatch(job: Record<string, unknown>): Promise<{ ok: boolean; error?: { code: string } }> {
  const body = new TextEncoder().encode(JSON.stringify({ v: 1, job }));
  return (await nc.request(REQUEST_SUBJECTS.dispatch, body, { timeout: 5_000 })).json();
}

const id = (name: string) => `dsp_${uniq(name).replace(/-/g, "_")}`;
const kinds = (dispatchId: string) => events.filter((e) => e.dispatchId === dispatchId).map((e) => e.kind);

describe("dispatch events", () => {
  it("none for a refused request, started + failed for a later failure, started + succeeded otherwise", async () => {
    const type = uniq("evt");
    const refused = {
      schema: id("schema"),
      tooLarge: id("large"),
      uniqueBound: id("bound"),
    };
    assert.equal(
      (await dispatch({ dispatch_id: refused.schema, type, options: { retry: -1 } })).error?.code,
      "VALIDATION",
    );
    assert.equal(
      (await dispatch({ dispatch_id: refused.tooLarge, type, payload: "x".repeat(2_000) })).error?.code,
      "PAYLOAD_TOO_LARGE",
    );
    assert.equal(
      (await dispatch({ dispatch_id: refused.uniqueBound, type, options: { unique_for_ms: 10_000_000_000 } }))
        .error?.code,
      "VALIDATION",
    );
    const first = id("first");
    const duplicate = id("dup");
    assert.equal(
      (await dispatch({ dispatch_id: first, type, payload: { k: 1 }, options: { unique_for_ms: 60_000 } }))
        .ok,
      true,
    );
    assert.equal(
      (
        await dispatch({
          dispatch_id: duplicate,
          type,
          payload: { k: 1 },
          options: { unique_for_ms: 60_000 },
        })
      ).error?.code,
      "DUPLICATE",
    );
    // One dispatcher batches its events in order: once the last request's events are here, the others' are too.
    await waitFor("the duplicate's events", () => (kinds(duplicate).length === 2 ? true : null));
    assert.deepEqual(kinds(duplicate), ["dispatch_started", "dispatch_failed"]);
    assert.deepEqual(kinds(first), ["dispatch_started", "dispatch_succeeded"]);
    for (const [what, dispatchId] of Object.entries(refused)) assert.deepEqual(kinds(dispatchId), [], what);
  });
});

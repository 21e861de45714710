/**
 * @module
 * `jetbus_outcomes_processed_total` counts an outcome once: a callback outcome delivered a second time (a copy
 * of the stored message, so not deduplicated by the server) changes no claim and is counted as `duplicate`,
 * never as a second `succeeded`. The coordinator runs in this process, so its counter is read directly.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { job, type Bus } from "../../shared/index.ts";
import { OutcomeMessage } from "../../shared/protocol/outcome.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { decodeMessage } from "../../shared/protocol/validate.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { startClientAndWorker, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { claimed, ncOf, outcomesSettled, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let client: Bus;
let worker: Bus;

before(async () => {
  ({ mesh, client, worker } = await startClientAndWorker());
});
after(() => mesh?.stop());

async function processed(): Promise<Record<string, number>> {
  const m = await metrics.outcomesProcessed.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.status), v.value]));
}

it("a then-callback outcome delivered twice counts one succeeded and one duplicate", async () => {
  const member = uniq("dup-member");
  const then = uniq("dup-then");
  let thenRuns = 0;
  worker.register(member, () => "ok");
  worker.register(then, () => {
    thenRuns++;
  });

  // The callback's outcome message as the worker stored it.
  const nc = ncOf(client);
  let callbackOutcome: Uint8Array | null = null;
  const sub = nc.subscribe(subjects.outcomes("*"), {
    callback: (_err, m) => {
      const entries = decodeMessage(OutcomeMessage, m.data, "outcome message").outcomes;
      if (entries.some((o) => o.callback?.kind === "then" && o.status === "succeeded"))
        callbackOutcome = m.data;
    },
  });
  await nc.flush();

  const id = await client.batch(job(member), job(member)).then(job(then)).dispatch();
  await waitBatch(client, id, (b) => b.completed);
  await waitFor("the then callback's outcome to be stored", () => callbackOutcome, { timeoutMs: 15_000 });
  await outcomesSettled(nc);
  await workflowSettled(nc, "batch", id);
  sub.unsubscribe();
  const before = await processed();

  // The same outcome again, as a new stored message; counted before the coordinator acks it.
  await jetstream(nc).publish(subjects.outcomes("replayed"), callbackOutcome!);
  await outcomesSettled(nc);
  const afterCopy = await processed();

  assert.equal((afterCopy.duplicate ?? 0) - (before.duplicate ?? 0), 1, "one duplicate");
  assert.equal(afterCopy.succeeded ?? 0, before.succeeded ?? 0, "no second succeeded");
  assert.deepEqual(await claimed(nc, "batch", id), ["then"]);
  assert.equal(thenRuns, 1, "then ran once");
});

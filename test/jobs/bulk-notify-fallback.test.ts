/**
 * @module
 * `dispatchMany` against a dispatcher that predates `notify`: such a dispatcher refuses the field as unknown,
 * job by job, without dispatching those jobs. The SDK sends them again without it and leaves it out from then
 * on, so upgrading clients before dispatchers loses no job. The old dispatcher here answers as the real one did:
 * each job checked against the job request schema without `notify`, the errors spelled by the same code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Type } from "@sinclair/typebox";
import type { Subscription } from "@nats-io/transport-node";
import { job, type Bus } from "../../shared/index.ts";
import { JobRequest } from "../../shared/protocol/job-request.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { check, schemaErrors } from "../../shared/protocol/validate.ts";
import { refusedForNotifyOnly } from "../../shared/sdk/bulk-dispatch.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { ncOf } from "../helpers/workflow-kit.ts";

const OldJobRequest = Type.Omit(JobRequest, ["notify"], { additionalProperties: false });

let mesh: Mesh;
let bus: Bus;
let oldDispatcher: Subscription;
/** the jobs each bulk request carried, in order */
const received: Record<string, unknown>[][] = [];

before(async () => {
  mesh = await startMesh({ services: [] });
  bus = await mesh.bus();
  let n = 0;
  oldDispatcher = ncOf(bus).subscribe(REQUEST_SUBJECTS.dispatchBulk, {
    queue: "jetbus-dispatcher",
    callback: (_e, m) => {
      const { jobs } = m.json<{ jobs: Record<string, unknown>[] }>();
      received.push(jobs);
      const results = jobs.map((j, i) => {
        if (check(OldJobRequest, j))
          return { ok: true, dispatch_id: j.dispatch_id ?? `dsp_old${n++}`, duplicate: false };
        const errors = schemaErrors(OldJobRequest, j).map((e) => `jobs[${i}].${e}`);
        // a job the old dispatcher refuses for one more reason (the SDK checks its own fields before sending)
        if (j.type === "old:refused") errors.push(`jobs[${i}].type: no worker registered`);
        const message = `invalid jobs[${i}]: ${errors.join("; ")}`;
        return { ok: false, error: { code: "VALIDATION", message, retryable: false, details: { errors } } };
      });
      m.respond(JSON.stringify({ v: 1, ok: true, results }));
    },
  });
  await ncOf(bus).flush();
});
after(async () => {
  oldDispatcher?.unsubscribe();
  await mesh?.stop();
});

describe("dispatchMany against a dispatcher without notify", () => {
  it("sends the refused jobs again without it, and leaves it out from then on", async () => {
    const first = await bus.dispatchMany([job("old:a", { n: 1 }), job("old:b", { n: 2 })]);
    assert.deepEqual(
      first.map((r) => r.ok),
      [true, true],
    );
    assert.deepEqual(
      received.map((jobs) => jobs.map((j) => j.notify)),
      [
        [false, false],
        [undefined, undefined],
      ],
    );
    assert.deepEqual(
      received[1]!.map((j) => j.dispatch_id),
      received[0]!.map((j) => j.dispatch_id),
      "the same dispatch ids: the refused jobs were never dispatched",
    );
    const second = await bus.dispatchMany([job("old:c")]);
    assert.equal(second[0]?.ok, true);
    assert.deepEqual(
      received[2]!.map((j) => j.notify),
      [undefined],
      "no notify any more: one request",
    );
    assert.equal(received.length, 3);
  });

  it("a job refused for anything else besides notify is not sent again", async () => {
    const before = received.length;
    const bus2 = await mesh.bus({ name: "fresh-client" });
    const [r] = await bus2.dispatchMany([job("old:refused")]);
    assert.equal(r?.ok, false);
    assert.equal(received.length, before + 1, "one request only");
    assert.equal(received.at(-1)![0]!.notify, false, "a fresh client sends notify");
  });

  it("tells a refusal for notify alone from others", () => {
    const errs = (...errors: string[]) => ({
      ok: false as const,
      error: { code: "VALIDATION", message: "invalid", retryable: false, details: { errors } },
    });
    assert.equal(refusedForNotifyOnly(errs("jobs[3].notify: is not a known field")), true);
    assert.equal(
      refusedForNotifyOnly(errs("jobs[3].notify: is not a known field", "jobs[3].type: is required")),
      false,
    );
    assert.equal(refusedForNotifyOnly(errs("jobs[3].payload: is not a known field")), false);
    assert.equal(
      refusedForNotifyOnly({
        ...errs("jobs[0].notify: is not a known field"),
        error: { code: "QUEUE_FULL", message: "", retryable: true },
      }),
      false,
    );
    assert.equal(refusedForNotifyOnly({ ok: true, dispatch_id: "dsp_x", duplicate: false }), false);
  });
});

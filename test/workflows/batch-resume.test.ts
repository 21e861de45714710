/**
 * @module
 * A batch whose creation fails half-way resumes from the recorded chunk (issue 12, item 4): an append that was
 * answered but not kept (as on 2.9, where a revision-checked write could be lost) makes the next chunk a gap;
 * the dispatcher refuses it saying how many members are recorded, and the SDK resumes from there. The batch
 * completes with exact counts, each member run once, then once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { job, type Bus } from "../../shared/index.ts";
import { REQUEST_SUBJECTS } from "../../shared/protocol/subjects.ts";
import { Requester } from "../../shared/sdk/requester.ts";
import { sendBatch } from "../../shared/sdk/workflow-dispatch.ts";
import { BatchBuilder } from "../../shared/sdk/builders.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { Runs } from "../helpers/runs.ts";
import { ncOf, queueSettled, waitBatch, workflowSettled } from "../helpers/workflow-kit.ts";

let mesh: Mesh;
let bus: Bus;
const runs = new Runs();

before(async () => {
  mesh = await startMesh();
  bus = await mesh.bus({ concurrency: 50 });
  await bus.startWorkers();
});

after(async () => {
  await mesh?.stop();
});

/** A requester whose first append is answered without reaching the dispatcher: a lost chunk. */
class LosingRequester extends Requester {
  lost = 0;
  override async request<T extends { ok: true }>(subject: string, body: unknown): Promise<T> {
    if (subject === REQUEST_SUBJECTS.batchAppend && this.lost++ === 0)
      return { v: 1, ok: true, id: "lost" } as unknown as T;
    return super.request<T>(subject, body);
  }
}

describe("batch creation that fails half-way", () => {
  it("resumes from the recorded chunk: exact counts, every member once, then once", async () => {
    const member = uniq("resume-m");
    const then = uniq("resume-then");
    bus.register(member, runs.handler());
    bus.register(then, runs.handler());
    const total = 3_500;
    const requester = new LosingRequester(ncOf(bus), 10_000);
    // A small payload budget makes several chunks (the second one is lost).
    const id = await new BatchBuilder(
      {
        jobs: Array.from({ length: total }, (_, i) => job(member, { i, pad: "x".repeat(100) })),
        allowFailures: false,
      },
      (spec) => sendBatch(requester, spec, 200_000),
    )
      .then(job(then))
      .dispatch();
    assert.ok(requester.lost >= 2, "the lost chunk was followed by a refused gap");
    const b = await waitBatch(bus, id, (x) => x.completed, 30_000);
    assert.deepEqual([b.total, b.processed, b.failed, b.cancelled], [total, total, 0, false]);
    await workflowSettled(ncOf(bus), "batch", id);
    await queueSettled(ncOf(bus), then);
    assert.equal(runs.count(then), 1);
    const seen = new Map<number, number>();
    for (const r of runs.of(member)) {
      const i = (r.payload as { i: number }).i;
      seen.set(i, (seen.get(i) ?? 0) + 1);
    }
    assert.equal(seen.size, total, "every member ran");
    assert.deepEqual(
      [...seen].filter(([, n]) => n > 1),
      [],
      "none ran twice",
    );
  });
});

/**
 * @module
 * `scheduledInPlace`: a job fired by a schedule came from a wait subject of its own (queue, type), as every
 * jetbus producer schedules; anything else was aimed at this queue from another one's subjects.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { scheduledInPlace, subjects } from "../../shared/protocol/subjects.ts";

it("a schedule fires into its own queue and type only", () => {
  const job = subjects.job("reports", "pdf.render");
  assert.equal(scheduledInPlace(subjects.wait("reports", "pdf.render", "job_1@a7"), job), true);
  assert.equal(scheduledInPlace(subjects.wait("default", "pdf.render", "job_1@a7"), job), false);
  assert.equal(scheduledInPlace(subjects.wait("reports", "pdf.other", "job_1@a7"), job), false);
  assert.equal(
    scheduledInPlace(subjects.due("reports", "pdf.render"), job),
    false,
    "only wait subjects schedule",
  );
  assert.equal(scheduledInPlace("garbage", job), false);
  assert.equal(scheduledInPlace(subjects.wait("reports", "pdf.render", "t"), "garbage"), false);
});

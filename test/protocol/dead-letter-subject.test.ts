/**
 * @module
 * Dead-letter subjects, both forms: a workflow's job carries its workflow id as an `@` token after the queue,
 * still under `jetbus.dlq.<queue>.>` (the worker roles' permission), and readers split either form.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { envelopeWorkflowId, letterWorkflow } from "../../shared/protocol/dead-letter.ts";
import { parseDeadLetterSubject, subjects } from "../../shared/protocol/subjects.ts";

it("builds and splits both forms", () => {
  assert.equal(subjects.deadLetter("q", "a.b"), "jetbus.dlq.q.a.b");
  assert.equal(subjects.deadLetter("q", "a.b", "bat_1"), "jetbus.dlq.q.@bat_1.a.b");
  assert.deepEqual(parseDeadLetterSubject("jetbus.dlq.q.a.b"), { queue: "q", type: "a.b" });
  assert.deepEqual(parseDeadLetterSubject("jetbus.dlq.q.@bat_1.a.b"), {
    queue: "q",
    type: "a.b",
    workflowId: "bat_1",
  });
  assert.equal(parseDeadLetterSubject("jetbus.dlq._invalid.jobs"), null);
  assert.equal(parseDeadLetterSubject("jetbus.dlq.q.@bat_1"), null);
  assert.equal(parseDeadLetterSubject("jetbus.dlq.q.@.t"), null);
  assert.ok(subjects.deadLetter("q", "t", "bat_1").startsWith("jetbus.dlq.q."));
});

it("a job's workflow: its batch, its chain, or the workflow of its callback", () => {
  assert.equal(envelopeWorkflowId({ batch: { id: "b" } }), "b");
  assert.equal(envelopeWorkflowId({ chain: { id: "c" } }), "c");
  assert.equal(envelopeWorkflowId({ callback: { workflow_id: "w" } }), "w");
  assert.equal(envelopeWorkflowId({}), undefined);
});

it("a letter whose subject disagrees with its envelope belongs to nothing: readers treat it as unreadable", () => {
  const env = { queue: "q", type: "a.b", batch: { id: "bat_1" } };
  assert.deepEqual(letterWorkflow("jetbus.dlq.q.@bat_1.a.b", { envelope: env }), { workflowId: "bat_1" });
  // v1 writers use the plain form for a workflow's job: the envelope names the workflow
  assert.deepEqual(letterWorkflow("jetbus.dlq.q.a.b", { envelope: env }), { workflowId: "bat_1" });
  assert.deepEqual(letterWorkflow("jetbus.dlq.q.a.b", { envelope: { queue: "q", type: "a.b" } }), {});
  assert.equal(letterWorkflow("jetbus.dlq.q.@bat_2.a.b", { envelope: env }), null);
  assert.equal(letterWorkflow("jetbus.dlq.q.@bat_1.a.b", { envelope: { queue: "q", type: "a.b" } }), null);
  assert.equal(letterWorkflow("jetbus.dlq.other.@bat_1.a.b", { envelope: env }), null);
  assert.equal(letterWorkflow("jetbus.dlq.q.@bat_1.a.c", { envelope: env }), null);
  assert.deepEqual(letterWorkflow("jetbus.dlq._invalid.jobs", {}), {});
  assert.equal(letterWorkflow("jetbus.dlq.q.@bat_1.a.b", {}), null);
});

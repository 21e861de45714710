/**
 * Event messages v2 carry facts; every reader derives the same events from them. These are the derivation rules
 * of docs/protocol.md §5, one case each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dispatchEvents, eventsOf, jobEvents } from "../../shared/protocol/event-facts.ts";
import type { JobFact } from "../../shared/protocol/event.ts";

const attempt = (over: Partial<JobFact> = {}): JobFact => ({
  job_id: "job_1",
  dispatch_id: "dsp_1",
  type: "email.send",
  queue: "default",
  attempt: 0,
  status: "succeeded",
  started_at: 1_000,
  finished_at: 1_250,
  ...over,
});

test("a successful attempt is job_started then job_succeeded, with its duration", () => {
  const events = jobEvents(attempt({ traceparent: "00-aa-bb-01" }));
  assert.deepEqual(
    events.map((e) => [e.id, e.kind, e.at, e.duration_ms]),
    [
      ["job_1.job_started.0", "job_started", 1_000, undefined],
      ["job_1.job_succeeded.0", "job_succeeded", 1_250, 250],
    ],
  );
  for (const e of events) {
    assert.equal(e.dispatch_id, "dsp_1");
    assert.equal(e.type, "email.send");
    assert.equal(e.queue, "default");
    assert.equal(e.attempt, 0);
    assert.equal(e.traceparent, "00-aa-bb-01");
  }
});

test("a failed attempt is dead-lettered too, both carrying the error", () => {
  const error = { code: "HANDLER_ERROR", message: "boom", retryable: false };
  const events = jobEvents(attempt({ status: "failed", attempt: 2, error }));
  assert.deepEqual(
    events.map((e) => e.kind),
    ["job_started", "job_failed", "job_dead_lettered"],
  );
  assert.equal(events[0]!.error, undefined);
  assert.deepEqual(events[1]!.error, error);
  assert.deepEqual(events[2]!.error, error);
  assert.equal(events[2]!.id, "job_1.job_dead_lettered.2");
});

test("a retried attempt is job_retried, for plain and callback jobs alike", () => {
  const error = { code: "HANDLER_ERROR", message: "again", retryable: true };
  assert.deepEqual(
    jobEvents(attempt({ status: "retried", error })).map((e) => e.kind),
    ["job_started", "job_retried"],
  );
  const cb = jobEvents(
    attempt({
      status: "retried",
      error,
      callback: { kind: "then", workflow: "batch", workflow_id: "bat_1" },
    }),
  );
  assert.deepEqual(
    cb.map((e) => e.kind),
    ["callback_started", "job_retried"],
  );
});

test("callback jobs use the callback kinds and name their workflow", () => {
  const events = jobEvents(
    attempt({ status: "failed", callback: { kind: "catch", workflow: "chain", workflow_id: "chn_1" } }),
  );
  assert.deepEqual(
    events.map((e) => e.kind),
    ["callback_started", "callback_failed"],
  );
  for (const e of events) {
    assert.equal(e.callback, "catch");
    assert.equal(e.chain_id, "chn_1");
  }
});

test("workflow members name their chain or batch; a replay has its own ids; skipped attempts are no event", () => {
  const [started] = jobEvents(attempt({ chain: { id: "chn_9", index: 1 }, replay: 3 }));
  assert.equal(started!.chain_id, "chn_9");
  assert.equal(started!.id, "job_1.job_started.0.r3");
  assert.equal(jobEvents(attempt({ batch: { id: "bat_9", index: 0 } }))[0]!.batch_id, "bat_9");
  assert.deepEqual(jobEvents(attempt({ status: "skipped" })), []);
});

test("an accepted dispatch is dispatch_started and dispatch_succeeded under the dispatch id", () => {
  const events = dispatchEvents({
    dispatch_id: "dsp_7",
    type: "t",
    queue: "q",
    at: 5,
    traceparent: "00-cc-dd-01",
  });
  assert.deepEqual(
    events.map((e) => [e.id, e.kind, e.job_id, e.at, e.traceparent]),
    [
      ["dsp_7.dispatch_started", "dispatch_started", "dsp_7", 5, "00-cc-dd-01"],
      ["dsp_7.dispatch_succeeded", "dispatch_succeeded", "dsp_7", 5, "00-cc-dd-01"],
    ],
  );
});

test("a v2 message expands dispatches, then jobs, then spelled-out events; v1 is read as it is", () => {
  const spelled = { id: "x.batch_started", kind: "batch_started" as const, at: 9 };
  const kinds = eventsOf({
    v: 2,
    events: [spelled],
    jobs: [attempt()],
    dispatched: [{ dispatch_id: "dsp_1", type: "t", queue: "q", at: 1 }],
  }).map((e) => e.kind);
  assert.deepEqual(kinds, [
    "dispatch_started",
    "dispatch_succeeded",
    "job_started",
    "job_succeeded",
    "batch_started",
  ]);
  assert.deepEqual(eventsOf({ v: 1, events: [spelled] }), [spelled]);
});

/**
 * @module
 * Settling an attempt and placing a waiting job: table-driven, no server.
 */
import assert from "node:assert/strict";
import { beforeRun, settleAttempt, type AttemptFailure, type Settlement } from "../../shared/core/settle.ts";
import { HOLD_MAX_MS, onArrival, placeJob, SCHEDULE_LEAD_MS } from "../../shared/core/waits.ts";
import type { JobOptionsWire } from "../../shared/protocol/schemas.ts";
import { describe, it } from "./helpers.ts";

const NOW = 1_000_000;
const fail = (code = "HANDLER_ERROR"): AttemptFailure => ({ code });

describe("settleAttempt", () => {
  const rows: [string, number, JobOptionsWire, AttemptFailure | null, Settlement][] = [
    ["success", 0, {}, null, { kind: "succeed" }],
    ["success on a later attempt", 2, { retry: 3 }, null, { kind: "succeed" }],
    [
      "failure with no retries: exhausted",
      0,
      {},
      fail(),
      { kind: "dead-letter", reason: "exhausted", attempts: 1 },
    ],
    [
      "failure with retries left: the next attempt now",
      0,
      { retry: 2 },
      fail(),
      { kind: "retry", attempt: 1 },
    ],
    [
      "failure with retries left and a backoff: the next attempt after it",
      1,
      { retry: 2, backoff_ms: 500 },
      fail(),
      { kind: "retry", attempt: 2, notBefore: NOW + 500 },
    ],
    [
      "failure on the last attempt: exhausted, every run counted",
      2,
      { retry: 2, backoff_ms: 500 },
      fail(),
      { kind: "dead-letter", reason: "exhausted", attempts: 3 },
    ],
    [
      "a timeout is a failure like any other",
      0,
      { retry: 1, timeout_ms: 10 },
      fail("TIMEOUT"),
      { kind: "retry", attempt: 1 },
    ],
    [
      "PERMANENT ends retries at once",
      0,
      { retry: 5, backoff_ms: 10 },
      fail("PERMANENT"),
      { kind: "dead-letter", reason: "permanent", attempts: 1 },
    ],
    [
      "a release puts the same attempt back for later",
      1,
      { retry: 1 },
      { code: "RATE_LIMITED", releaseAfterMs: 250 },
      { kind: "release", notBefore: NOW + 250 },
    ],
    [
      "a release on the last attempt uses no attempt",
      3,
      { retry: 3 },
      { code: "OVERLAPPING", releaseAfterMs: 4_000 },
      { kind: "release", notBefore: NOW + 4_000 },
    ],
    [
      "a release of 0 ms is ready at once",
      0,
      {},
      { code: "RELEASED", releaseAfterMs: 0 },
      { kind: "release" },
    ],
  ];
  for (const [what, attempt, options, failure, want] of rows) {
    it(what, () => assert.deepEqual(settleAttempt(attempt, options, failure, NOW), want));
  }
});

describe("beforeRun", () => {
  it("runs while the attempt is within the retries", () => {
    assert.deepEqual(beforeRun(0, {}), { kind: "run" });
    assert.deepEqual(beforeRun(2, { retry: 2 }), { kind: "run" });
  });
  it("dead-letters as worker_died once deaths alone exceed the retries, reporting the last allowed attempt", () => {
    assert.deepEqual(beforeRun(1, {}), {
      kind: "dead-letter",
      reason: "worker_died",
      attempts: 1,
      reportedAttempt: 0,
    });
    assert.deepEqual(beforeRun(4, { retry: 3 }), {
      kind: "dead-letter",
      reason: "worker_died",
      attempts: 4,
      reportedAttempt: 3,
    });
  });
});

describe("placeJob and onArrival", () => {
  it("a job with no time, or a time passed, is ready", () => {
    assert.deepEqual(placeJob(undefined, NOW), { kind: "ready" });
    assert.deepEqual(placeJob(NOW, NOW), { kind: "ready" });
    assert.deepEqual(placeJob(NOW - 5, NOW), { kind: "ready" });
  });
  it("a wait up to the hold limit goes to the jobs stream, held by the worker", () => {
    assert.deepEqual(placeJob(NOW + 10, NOW), { kind: "held", notBefore: NOW + 10 });
    assert.deepEqual(placeJob(NOW + HOLD_MAX_MS, NOW), { kind: "held", notBefore: NOW + HOLD_MAX_MS });
  });
  it("a longer wait is a schedule that fires the lead early", () => {
    const at = NOW + HOLD_MAX_MS + 1;
    assert.deepEqual(placeJob(at, NOW), { kind: "scheduled", notBefore: at, fireAt: at - SCHEDULE_LEAD_MS });
    assert.deepEqual(placeJob(NOW + 86_400_000, NOW), {
      kind: "scheduled",
      notBefore: NOW + 86_400_000,
      fireAt: NOW + 86_400_000 - SCHEDULE_LEAD_MS,
    });
  });
  it("a worker runs a due job, holds one due within the limit, sends a later one to wait again", () => {
    assert.deepEqual(onArrival(undefined, NOW), { kind: "run" });
    assert.deepEqual(onArrival(NOW, NOW), { kind: "run" });
    assert.deepEqual(onArrival(NOW + 1, NOW), { kind: "hold", until: NOW + 1 });
    assert.deepEqual(onArrival(NOW - 100, NOW), { kind: "run" });
    assert.deepEqual(onArrival(NOW + SCHEDULE_LEAD_MS, NOW), { kind: "hold", until: NOW + SCHEDULE_LEAD_MS });
    assert.deepEqual(onArrival(NOW + HOLD_MAX_MS, NOW), { kind: "hold", until: NOW + HOLD_MAX_MS });
    assert.deepEqual(onArrival(NOW + HOLD_MAX_MS + 1, NOW), { kind: "wait-again" });
  });
  it("what placeJob sends to the jobs stream, onArrival never sends back", () => {
    for (const wait of [1, 50, 299, 300, 301, 999, 1_000, 1_001, 5_000, 60_000]) {
      const p = placeJob(NOW + wait, NOW);
      // The worker sees a held job at once, a scheduled one at its fire time at the earliest.
      const arrives = p.kind === "scheduled" ? p.fireAt : NOW;
      assert.notEqual(onArrival(NOW + wait, arrives).kind, "wait-again", `wait ${wait}`);
    }
  });
});

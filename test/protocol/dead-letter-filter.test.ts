/**
 * @module
 * The shared dead-letter filter: parsing (every bad field reported), the server-side subjects it selects,
 * and the exact match against a letter.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  filterFields,
  hasAbsoluteTimes,
  describeFilter,
  filterSubjects,
  matchesFilter,
  parseFilterFields,
  parseFilterText,
  type Times,
} from "../../shared/protocol/dead-letter-filter.ts";

const NOW = Date.parse("2026-12-03T12:00:00Z");
const times: Times = {
  now: NOW,
  parseIso: (t) => Date.parse(t),
  format: (ms) => new Date(ms).toISOString(),
};

describe("parsing", () => {
  it("reads every key, relative and absolute times", () => {
    const r = parseFilterText(
      "queue=emails,type=a.b,reason=exhausted,batch=bat_1,since=-30m,until=2026-12-03T13:00:00Z",
      times,
    );
    assert.deepEqual(r, {
      ok: true,
      filter: {
        queue: "emails",
        type: "a.b",
        reason: "exhausted",
        batch: "bat_1",
        since: NOW - 30 * 60_000,
        until: Date.parse("2026-12-03T13:00:00Z"),
      },
    });
  });
  it("reports every bad field at once", () => {
    const r = parseFilterFields(
      { queue: "no spaces", reason: "bored", since: "yesterday-ish", colour: "red", type: "" },
      times,
    );
    assert.equal(r.ok, false);
    assert.equal(r.ok ? 0 : r.errors.length, 4);
  });
  it("refuses text that is not key=value, and since after until", () => {
    assert.equal(parseFilterText("queue", times).ok, false);
    assert.equal(parseFilterText("since=-1m,until=-2m", times).ok, false);
  });
  it("queue=_invalid names the undecodable letters", () => {
    assert.deepEqual(parseFilterText("queue=_invalid", times), { ok: true, filter: { queue: "_invalid" } });
    assert.equal(parseFilterText("queue=_other", times).ok, false);
  });
  it("an empty filter is all letters", () => {
    assert.deepEqual(parseFilterText("", times), { ok: true, filter: {} });
    assert.equal(describeFilter({}, times), "(all)");
  });
});

describe("server-side selection", () => {
  const cases: [Parameters<typeof filterSubjects>[0], string[]][] = [
    [{}, ["jetbus.dlq.>"]],
    [{ queue: "q" }, ["jetbus.dlq.q.>"]],
    [{ type: "t" }, ["jetbus.dlq.*.t", "jetbus.dlq.*.*.t"]],
    [{ queue: "q", type: "a.b" }, ["jetbus.dlq.q.a.b", "jetbus.dlq.q.*.a.b"]],
    [{ batch: "bat_1" }, ["jetbus.dlq.*.@bat_1.>"]],
    [{ batch: "bat_1", queue: "q", type: "t", reason: "permanent" }, ["jetbus.dlq.q.@bat_1.t"]],
  ];
  for (const [f, want] of cases)
    it(describeFilter(f, times), () => assert.deepEqual(filterSubjects(f), want));
});

describe("matching", () => {
  const letter = { queue: "q", jobType: "a.t", reason: "exhausted", workflowId: "bat_1", failedAt: NOW };
  it("checks what the subjects cannot: a type's dots, the reason, the time", () => {
    assert.equal(matchesFilter({ type: "t" }, letter), false);
    assert.equal(matchesFilter({ type: "a.t", queue: "q" }, letter), true);
    assert.equal(matchesFilter({ reason: "permanent" }, letter), false);
    assert.equal(matchesFilter({ since: NOW }, letter), true);
    assert.equal(matchesFilter({ until: NOW }, letter), false);
    assert.equal(matchesFilter({ batch: "bat_2" }, letter), false);
    assert.equal(matchesFilter({ batch: "bat_1" }, { ...letter, workflowId: undefined } as never), false);
  });
});

it("a count's resolved filter names its times as epoch ms, and parses back to the same filter", () => {
  const r = parseFilterText("type=emails:send,since=-1h,until=-2s", times);
  assert.ok(r.ok);
  const fields = filterFields(r.filter);
  assert.deepEqual(fields, {
    type: "emails:send",
    since: String(NOW - 3_600_000),
    until: String(NOW - 2_000),
  });
  assert.ok(hasAbsoluteTimes(fields));
  assert.ok(!hasAbsoluteTimes({ until: "-2s" }));
  assert.ok(!hasAbsoluteTimes({ since: "2026-12-03" }));
  const again = parseFilterFields(fields, { ...times, now: NOW + 60_000 });
  assert.deepEqual(again.ok && again.filter, r.filter);
});

/**
 * @module
 * The byte budgets: packing a list into messages by bytes, the message budget under a server's max_payload, and
 * cutting errors to size with a marker (table-driven, no server).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUDGETS, byteLength, messageBudget, packBySize } from "../../shared/protocol/budgets.ts";
import { STORED_ERROR_BYTES, truncateError, truncateText } from "../../shared/core/truncate.ts";

void describe("packBySize", () => {
  const size = (s: string) => byteLength(s);

  void it("cuts by bytes, keeps order, and never makes a pack over the budget", () => {
    const items = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(200_000, "x"));
    const { packs, oversize } = packBySize(items, size, 900_000);
    assert.deepEqual(oversize, []);
    assert.deepEqual(packs.flat(), items, "every item once, in order");
    assert.equal(packs.length, 10, "four 200 KB items per 900 KB message");
    for (const p of packs) assert.ok(p.reduce((n, s) => n + size(s) + 1, 0) <= 900_000);
  });

  void it("also cuts by count", () => {
    const { packs } = packBySize(["a", "b", "c", "d", "e"], size, 1_000, 2);
    assert.deepEqual(packs, [["a", "b"], ["c", "d"], ["e"]]);
  });

  void it("sets apart an item that alone exceeds the budget, and packs the others around it", () => {
    const big = "y".repeat(2_000);
    const { packs, oversize } = packBySize(["a", big, "b"], size, 1_000);
    assert.deepEqual(oversize, [big]);
    assert.deepEqual(packs, [["a", "b"]]);
  });

  void it("measures UTF-8 bytes, not string length", () => {
    const wide = "é".repeat(400); // 400 characters, 800 bytes
    const { packs } = packBySize([wide, wide], size, 1_000);
    assert.equal(packs.length, 2);
  });

  void it("an empty list makes no message", () => {
    assert.deepEqual(packBySize([], size, 10), { packs: [], oversize: [] });
  });
});

void describe("messageBudget", () => {
  void it("is the smaller limit less the headroom", () => {
    assert.equal(messageBudget(1_048_576), 1_048_576 - BUDGETS.headroomBytes);
    assert.equal(messageBudget(1_048_576, 65_536), 65_536 - BUDGETS.headroomBytes);
    assert.equal(messageBudget(undefined), BUDGETS.defaultMaxPayloadBytes - BUDGETS.headroomBytes);
  });
});

void describe("truncateText / truncateError", () => {
  void it("leaves text within budget alone", () => {
    assert.equal(truncateText("hello", 5), "hello");
  });

  void it("cuts to the budget with a marker naming the dropped bytes", () => {
    const out = truncateText("x".repeat(10_000), 1_000);
    assert.ok(byteLength(out) <= 1_000, `${byteLength(out)} bytes`);
    const m = /…\[truncated (\d+) bytes\]$/.exec(out);
    assert.ok(m, out.slice(-40));
    assert.equal(out.length - m[0].length + Number(m[1]), 10_000, "kept + dropped = original");
  });

  void it("never cuts a character in half", () => {
    const out = truncateText("€".repeat(1_000), 100); // 3 bytes each
    assert.ok(!out.includes("\uFFFD"));
    assert.ok(byteLength(out) <= 100);
  });

  void it("bounds an error's message and details together", () => {
    const e = {
      code: "PERMANENT",
      message: "m".repeat(200_000),
      retryable: false,
      details: { d: "z".repeat(50_000) },
    };
    const t = truncateError(e);
    assert.ok(byteLength(JSON.stringify(t)) <= STORED_ERROR_BYTES + 64, `${byteLength(JSON.stringify(t))}`);
    assert.equal(t.code, "PERMANENT");
    assert.equal(t.retryable, false);
    assert.match(t.message, /^m+…\[truncated \d+ bytes\]$/);
    assert.deepEqual(t.details, { truncated: true, bytes: byteLength(JSON.stringify(e.details)) });
  });

  void it("returns a small error as it was (same object: no copy on the hot path)", () => {
    const e = { code: "X", message: "short", retryable: true, details: { a: 1 } };
    assert.equal(truncateError(e), e);
  });

  void it("the dead-letter budget keeps a 200 KB message in full", () => {
    const e = { code: "PERMANENT", message: "m".repeat(200_000), retryable: false };
    assert.equal(truncateError(e, BUDGETS.deadLetterErrorBytes), e);
  });
});

void describe("packBySize with oversizeAlone", () => {
  void it("keeps an oversize item in order, in a pack of its own", () => {
    const big = "y".repeat(2_000);
    const { packs, oversize } = packBySize(["a", big, "b"], byteLength, 1_000, Infinity, true);
    assert.deepEqual(oversize, []);
    assert.deepEqual(packs, [["a"], [big], ["b"]]);
  });
});

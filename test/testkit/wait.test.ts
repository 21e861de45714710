// node:test's describe()/test() return promises the runner tracks itself: `void` tells no-floating-promises so.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CountLatch, deferred, Latch, RingBuffer, waitFor, withTimeout } from "../../shared/testkit/index.ts";

void describe("waitFor", () => {
  void test("resolves with the first truthy value", async () => {
    let calls = 0;
    const value = await waitFor("the third call", () => (++calls === 3 ? { calls } : null), {
      intervalMs: 1,
    });
    assert.deepEqual(value, { calls: 3 });
  });

  void test("treats a throwing check as 'not yet' and reports its last error on timeout", async () => {
    let calls = 0;
    await assert.rejects(
      waitFor(
        "a stream leader",
        () => {
          throw new Error(`no leader yet (${++calls})`);
        },
        { timeoutMs: 60, intervalMs: 5 },
      ),
      /^Error: timed out after 60ms waiting for a stream leader \(\d+ checks\); last error: Error: no leader yet \(\d+\)$/,
    );
  });

  void test("bounds a check that never settles", async () => {
    const t0 = performance.now();
    await assert.rejects(
      waitFor("a hung check", () => new Promise<boolean>(() => {}), { timeoutMs: 50 }),
      /timed out after 50ms waiting for a hung check/,
    );
    assert.ok(performance.now() - t0 < 1_000);
  });

  void test("stops early when its signal aborts", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("server exited")), 20);
    await assert.rejects(
      waitFor("never", () => false, { signal: ac.signal }),
      /server exited/,
    );
  });
});

void describe("latches", () => {
  void test("Latch.wait resolves with the value or names what never happened", async () => {
    const latch = new Latch<number>();
    setTimeout(() => latch.resolve(7), 5);
    assert.equal(await latch.wait(1_000, "seven"), 7);
    assert.equal(latch.settled, true);
    await assert.rejects(
      deferred().wait(20, "the reconnect event"),
      /timed out after 20ms waiting for the reconnect event/,
    );
  });

  void test("a rejected latch nobody awaits does not surface as an unhandled rejection", async () => {
    deferred().reject(new Error("ignored"));
    await withTimeout(new Promise((r) => setImmediate(r)), 1_000, "a tick");
  });

  void test("CountLatch collects items and reports how many arrived", async () => {
    const got = new CountLatch<string>(3);
    for (const s of ["a", "b", "c"]) setTimeout(() => got.countDown(s), 1);
    assert.deepEqual((await got.wait(1_000, "three messages")).sort(), ["a", "b", "c"]);

    const partial = new CountLatch(2);
    partial.countDown();
    assert.equal(partial.remaining, 1);
    await assert.rejects(partial.wait(20, "two acks"), /waiting for two acks \(got 1 of 2\)/);
    assert.deepEqual(await new CountLatch(0).wait(10), []);
  });
});

void describe("RingBuffer", () => {
  void test("keeps the newest bytes and says how much it dropped", () => {
    const ring = new RingBuffer(10);
    ring.push("0123456789");
    ring.push("abc");
    assert.equal(ring.droppedBytes, 3);
    assert.equal(ring.toString(), "[… 3 earlier bytes dropped …]\n3456789abc");
    ring.push("x".repeat(25));
    assert.equal(ring.toString().split("\n")[1], "x".repeat(10));
    assert.equal(ring.droppedBytes, 28);
  });
});

/**
 * @module
 * The sign-in throttle: per (name, client address), a growing backoff, and no eviction of a blocking pair.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { SignInThrottle } from "../../services/console/sign-in-throttle.ts";

it("blocks a name from one address after five failures, not the same name from another address", () => {
  const t = new SignInThrottle();
  for (let i = 0; i < 4; i++) t.failed("ada", "10.0.0.9", 0);
  assert.equal(t.blockedFor("ada", "10.0.0.9", 0), 0);
  t.failed("ada", "10.0.0.9", 0);
  assert.equal(t.blockedFor("ada", "10.0.0.9", 0), 30_000);
  assert.equal(t.blockedFor("ada", "127.0.0.1", 0), 0);
});

it("backs off: each failure past the fifth doubles the block, up to 15 minutes", () => {
  const t = new SignInThrottle();
  let now = 0;
  const blocks: number[] = [];
  for (let i = 0; i < 12; i++) {
    now += t.blockedFor("ada", "a", now);
    t.failed("ada", "a", now);
    blocks.push(t.blockedFor("ada", "a", now));
  }
  assert.deepEqual(blocks.slice(4), [30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  t.succeeded("ada", "a");
  assert.equal(t.blockedFor("ada", "a", now), 0);
});

it("never evicts a pair that is still blocking to make room; a stale one goes first", () => {
  const t = new SignInThrottle({ maxEntries: 3 });
  for (let i = 0; i < 5; i++) t.failed("target", "x", 0);
  t.failed("stale", "y", 0);
  t.failed("other", "z", 0);
  for (let i = 0; i < 5; i++) t.failed(`name${i}`, "z", 1);
  assert.equal(t.blockedFor("target", "x", 1), 29_999);
  assert.equal(t.size, 3);
  // all three blocking: a new pair is not tracked rather than one of them dropped
  for (const n of ["p", "q"]) for (let i = 0; i < 5; i++) t.failed(n, "w", 2);
  assert.equal(t.blockedFor("target", "x", 2), 29_998);
});

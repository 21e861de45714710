/**
 * @module
 * When the test kit calls a cluster formed, from what each node reports: every running node has a route to every
 * other one (pooled routes repeat a peer; a stale route to a stopped node is harmless), and all agree on one
 * running meta leader.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkFormed } from "../../shared/testkit/cluster.ts";

const view = (name: string, peers: string[], leader = "n1") => ({ name, peers, leader });

void test("formed: each node sees the others (repeated by pooling) and all name the same leader", () => {
  const pooled = (self: string) => ["n1", "n2", "n3"].filter((n) => n !== self).flatMap((n) => [n, n, n, n]);
  assert.equal(
    checkFormed([view("n1", pooled("n1")), view("n2", pooled("n2")), view("n3", pooled("n3"))]),
    true,
  );
});

void test("formed after a restart: a route to a node that is not running does not matter", () => {
  assert.equal(checkFormed([view("n1", ["n2", "n3"]), view("n2", ["n1"])]), true);
});

void test("not formed: a node is missing a peer", () => {
  assert.throws(
    () => checkFormed([view("n1", ["n2", "n3"]), view("n2", ["n1", "n3"]), view("n3", ["n1"])]),
    /n3 has no route to n2 yet/,
  );
});

void test("not formed: no leader yet, split leaders, or a leader that is not running", () => {
  const all = (leaders: string[]) =>
    leaders.map((l, i) =>
      view(
        `n${i + 1}`,
        ["n1", "n2", "n3"].filter((n) => n !== `n${i + 1}`),
        l,
      ),
    );
  assert.throws(() => checkFormed(all(["", "", ""])), /meta leaders per node/);
  assert.throws(() => checkFormed(all(["n1", "n2", "n1"])), /meta leaders per node/);
  assert.throws(() => checkFormed(all(["n4", "n4", "n4"])), /meta leaders per node/);
});

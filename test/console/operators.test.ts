/**
 * @module
 * Operator entries: only scrypt hashes are accepted, bad entries are reported without echoing them, and a
 * check finds the operator only with the right name and secret.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { hashSecret, parseOperators, verifyOperator } from "../../services/console/operators.ts";

it("parses name:hash entries and verifies secrets", async () => {
  const ada = await hashSecret("correct horse battery staple");
  assert.match(ada, /^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
  const { operators, problems } = parseOperators(
    `ada:${ada}\n# a comment\nbob:${await hashSecret("token-xyz")}`,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    operators.map((o) => o.name),
    ["ada", "bob"],
  );
  assert.equal((await verifyOperator(operators, "ada", "correct horse battery staple"))?.name, "ada");
  assert.equal(await verifyOperator(operators, "ada", "token-xyz"), null);
  assert.equal(await verifyOperator(operators, "eve", "correct horse battery staple"), null);
});

it("refuses plain secrets, bad names and duplicates, naming the entry but not its text", async () => {
  const h = await hashSecret("x".repeat(12));
  const { operators, problems } = parseOperators(`ada:hunter2,:${h},bob:${h},bob:${h}`);
  assert.deepEqual(
    operators.map((o) => o.name),
    ["bob"],
  );
  assert.equal(problems.length, 3);
  assert.ok(problems.every((p) => !p.includes("hunter2")));
});

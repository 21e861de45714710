#!/usr/bin/env node
// The one test command (`npm test`, and so `npm cit`): type-check, lint, then every test file with node's
// own runner through tsx. Node 20's `--test` cannot glob TypeScript files, so we list them here.
// TEST_ONLY=substring narrows the files; TEST_SKIP_CHECKS=1 skips tsc and eslint while iterating.
// Before any test runs it makes sure a current nats-server (2.12+) is there — fetching the newest one from
// Debian's testing suite into .jetbus/bin when there is none and apt exists — and names the version used.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { register } from "tsx/esm/api";

function listTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listTests(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The test files find the binary the same way (see shared/testkit/nats-binary.ts), so they use this one.
register();
const { ensureNatsServerBinary } = await import("../shared/testkit/ensure-nats-server.ts");
try {
  const server = ensureNatsServerBinary();
  console.log(`nats-server v${server.version} (${server.path}${server.fetched ? ", fetched just now" : ""})`);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
if (!process.env.TEST_SKIP_CHECKS) {
  run("npx", ["tsc", "--noEmit"]);
  run("npx", ["eslint", "."]);
  run("npx", ["prettier", "--check", "--log-level", "warn", "."]);
}
const only = process.env.TEST_ONLY;
const files = listTests("test")
  .filter((f) => !only || f.includes(only))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${only ?? "test/**/*.test.ts"}`);
  process.exit(1);
}
const reporter = process.env.CI ? ["--test-reporter=spec"] : [];
run(process.execPath, [
  "--import",
  "tsx",
  "--test",
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 3}`,
  ...reporter,
  ...files,
]);

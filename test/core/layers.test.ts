/**
 * @module
 * Imports point one way (docs/README.md has the map): `protocol` imports nothing of ours, `core` only
 * `protocol`, `nats` never `service`, `sdk`, `worker` or a service, `worker` never `sdk`, and the dispatcher
 * and the coordinator never `worker`. Type-only imports count too: a type both sides need lives in the lower
 * room.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** `shared/<room>` for files in a folder of `shared`, `services/<name>`, else the file itself. */
function roomOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "services") return `services/${parts[1]}`;
  return parts.length > 2 ? `shared/${parts[1]}` : path;
}

const RULES: { room: string; says: string; forbids: (to: string) => boolean }[] = [
  { room: "shared/protocol", says: "imports nothing of ours", forbids: (to) => to !== "shared/protocol" },
  {
    room: "shared/core",
    says: "imports only protocol",
    forbids: (to) => !["shared/core", "shared/protocol"].includes(to),
  },
  {
    room: "shared/nats",
    says: "never imports service, sdk, worker or a service",
    forbids: (to) =>
      ["shared/service", "shared/sdk", "shared/worker"].includes(to) || to.startsWith("services/"),
  },
  {
    room: "shared/worker",
    says: "never imports sdk or a service",
    forbids: (to) => to === "shared/sdk" || to.startsWith("services/"),
  },
  {
    room: "services/coordinator",
    says: "never imports worker",
    forbids: (to) => to === "shared/worker" || to === "services/worker",
  },
  {
    room: "services/dispatcher",
    says: "never imports worker",
    forbids: (to) => to === "shared/worker" || to === "services/worker",
  },
];

const files = [...walk(join(ROOT, "shared")), ...walk(join(ROOT, "services"))].map((f) => relative(ROOT, f));

function relativeImports(file: string): string[] {
  const src = readFileSync(join(ROOT, file), "utf8");
  const specs = [
    ...src.matchAll(/(?:import|export)[^"';]*?from\s+["'](\.{1,2}\/[^"']+)["']/g),
    ...src.matchAll(/\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  return specs.map((s) => normalize(join(dirname(file), s)));
}

describe("the import layering", () => {
  it("sees the library", () => {
    assert.ok(files.length > 100, `only ${files.length} files found under shared/ and services/`);
  });
  for (const rule of RULES) {
    it(`${rule.room} ${rule.says}`, () => {
      const bad = files
        .filter((f) => roomOf(f) === rule.room)
        .flatMap((f) => relativeImports(f).map((to) => ({ f, to })))
        .filter(({ to }) => roomOf(to) !== rule.room && rule.forbids(roomOf(to)))
        .map(({ f, to }) => `${f} -> ${to}`);
      assert.deepEqual(bad, []);
    });
  }
});

/**
 * @module
 * `shared/core` is a pure function of its arguments: no I/O modules, no clock, no randomness, no timers. The
 * lint rule says so too; this test keeps it so even where lint is not run. Only type imports may leave the
 * folder (they are erased at runtime).
 */
import assert from "node:assert/strict";
import { describe, it } from "./helpers.ts";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const CORE = fileURLToPath(new URL("../../shared/core/", import.meta.url));
const files = readdirSync(CORE)
  .filter((f) => f.endsWith(".ts"))
  .sort();

/** Every `import … from "x"` / `export … from "x"` / `import("x")` / `require("x")`, with whether it is type-only. */
function importsOf(source: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^;]*?from\s+["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push({ spec: m[3]!, typeOnly: Boolean(m[2]) });
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+["']([^"']+)["']/g))
    out.push({ spec: m[1]!, typeOnly: false });
  for (const m of source.matchAll(/\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    out.push({ spec: m[1]!, typeOnly: false });
  }
  return out;
}

describe("shared/core is pure", () => {
  it("has the expected files", () => {
    assert.ok(files.includes("batch.ts") && files.includes("chain.ts") && files.includes("index.ts"));
  });

  const forbiddenImports = [
    /^node:/,
    /^@nats-io\//,
    /^@opentelemetry\//,
    /^pino$/,
    /^prom-client$/,
    /^(fs|net|http|os)$/,
  ];
  const forbiddenCode: [string, RegExp][] = [
    ["Date.now", /\bDate\s*\.\s*now\b/],
    ["new Date", /\bnew\s+Date\b/],
    ["Math.random", /\bMath\s*\.\s*random\b/],
    ["setTimeout", /\bsetTimeout\b/],
    ["setInterval", /\bsetInterval\b/],
    ["setImmediate", /\bsetImmediate\b/],
    ["process", /\bprocess\s*\./],
    ["crypto", /\bcrypto\s*\./],
    ["performance", /\bperformance\s*\./],
    ["fetch", /\bfetch\s*\(/],
  ];

  for (const file of files) {
    it(`${file}: no I/O imports, no clock, randomness or timers`, () => {
      const source = readFileSync(join(CORE, file), "utf8");
      const imports = importsOf(source);
      for (const { spec, typeOnly } of imports) {
        for (const bad of forbiddenImports) assert.doesNotMatch(spec, bad, `${file} imports ${spec}`);
        if (!spec.startsWith("./")) {
          assert.ok(
            typeOnly,
            `${file}: a runtime import from outside shared/core (${spec}); only types may leave it`,
          );
        }
      }
      // Strip comments so prose about "Date.now" in docs does not count, then look for the calls.
      const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
      for (const [name, re] of forbiddenCode) assert.doesNotMatch(code, re, `${file} uses ${name}`);
    });
  }

  it("the import scanner finds what it should (self-check)", () => {
    const sample = [
      'import { x } from "node:fs";',
      'import type { Y } from "../protocol/schemas.ts";',
      'export { z } from "./z.ts";',
      'import "side-effect";',
      'const m = await import("@nats-io/kv");',
    ].join("\n");
    assert.deepEqual(importsOf(sample), [
      { spec: "node:fs", typeOnly: false },
      { spec: "../protocol/schemas.ts", typeOnly: true },
      { spec: "./z.ts", typeOnly: false },
      { spec: "side-effect", typeOnly: false },
      { spec: "@nats-io/kv", typeOnly: false },
    ]);
  });
});

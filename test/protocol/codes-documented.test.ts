/**
 * @module
 * Another language has only docs/protocol.md and the JSON Schemas: every error code and dead-letter reason
 * the code can put on the wire must be in both. Codes are read from `ErrorCodes` and from the literals the
 * services and the library throw; reasons from the dead-letter schema's source.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DeadLetterReason } from "../../shared/protocol/dead-letter.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const doc = read("docs/protocol.md");
const schemas = readdirSync(join(ROOT, "shared/protocol/schema")).map((f) =>
  read(`shared/protocol/schema/${f}`),
);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** `new JetbusError("X", …)` and `code: "X"` literals in the library and the services. */
function literalCodes(): Set<string> {
  const out = new Set<string>();
  for (const f of [...sources("shared"), ...sources("services")])
    for (const m of read(f).matchAll(/(?:JetbusError\(\s*|\bcode: )"([A-Z][A-Z_]+)"/g)) out.add(m[1]!);
  return out;
}

const reasons = DeadLetterReason.anyOf.map((s) => String((s as { const: unknown }).const));

describe("error codes and dead-letter reasons are documented", () => {
  it("every code used in the code is one of ErrorCodes", () => {
    const known = new Set<string>(Object.values(ErrorCodes));
    assert.deepEqual(
      [...literalCodes()].filter((c) => !known.has(c)),
      [],
    );
  });

  it("every error code is in docs/protocol.md and in error-body.json", () => {
    const errorBody = read("shared/protocol/schema/error-body.json");
    for (const code of Object.values(ErrorCodes)) {
      assert.ok(doc.includes(`\`${code}\``), `${code} is not in docs/protocol.md`);
      assert.ok(errorBody.includes(`"${code}"`), `${code} is not in error-body.json`);
    }
  });

  it("every dead-letter reason is in docs/protocol.md and in dead-letter.json", () => {
    assert.ok(reasons.length >= 5);
    const letter = read("shared/protocol/schema/dead-letter.json");
    for (const r of reasons) {
      assert.ok(doc.includes(`\`${r}\``), `dead-letter reason ${r} is not in docs/protocol.md`);
      assert.ok(letter.includes(`"${r}"`), `dead-letter reason ${r} is not in dead-letter.json`);
    }
    assert.ok(schemas.length > 10);
  });
});

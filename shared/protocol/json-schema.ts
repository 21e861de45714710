/**
 * @module
 * JSON Schema documents for every protocol message, generated from the same TypeBox source as the runtime
 * validators (so the two cannot drift). Committed under shared/protocol/schema/ for other languages.
 */
import { SCHEMAS } from "./schemas.ts";

const BASE = "https://jetbus.dev/schema/v1/";

/** TypeBox keeps its own markers and our `errorMessage` hints; strip them for a clean document. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "errorMessage") continue;
      out[k] = clean(v);
    }
    return out;
  }
  return value;
}

export function renderSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const doc = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: `${BASE}${name}.json`,
      title: name,
      ...(clean(JSON.parse(JSON.stringify(schema))) as object),
    };
    out.set(`${name}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  }
  return out;
}

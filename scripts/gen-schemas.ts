/**
 * Writes the protocol's JSON Schemas (draft 2020-12 compatible output of TypeBox) into
 * shared/protocol/schema/, one file per message. `npm run schemas`; a test fails when they are stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderSchemas } from "../shared/protocol/json-schema.ts";

const dir = join(dirname(fileURLToPath(import.meta.url)), "../shared/protocol/schema");
mkdirSync(dir, { recursive: true });
for (const [file, text] of renderSchemas()) writeFileSync(join(dir, file), text);
console.log(`wrote ${renderSchemas().size} schemas to ${dir}`);

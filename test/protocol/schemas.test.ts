import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import { renderSchemas } from "../../shared/protocol/json-schema.ts";

const dir = join(dirname(fileURLToPath(import.meta.url)), "../../shared/protocol/schema");

describe("committed JSON Schemas", () => {
  test("match the TypeBox source (run `npm run schemas` after changing the protocol)", () => {
    const rendered = renderSchemas();
    assert.deepEqual(readdirSync(dir).sort(), [...rendered.keys()].sort());
    for (const [file, text] of rendered)
      assert.equal(readFileSync(join(dir, file), "utf8"), text, `${file} is stale`);
  });

  // Another language only has the JSON files: prove they validate on their own, with a generic validator.
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  const load = (name: string) =>
    ajv.compile(JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as object);

  test("a dispatch request validates; bad ones are rejected", () => {
    const validate = load("dispatch-request");
    assert.ok(
      validate({
        v: 1,
        job: { type: "emails:send", payload: { to: "a@b.c" }, options: { retry: 3, backoff_ms: 500 } },
      }),
    );
    assert.ok(!validate({ v: 1, job: { payload: {} } }), "missing type");
    assert.ok(!validate({ v: 1, job: { type: "a b" } }), "space in type");
    assert.ok(!validate({ v: 1, job: { type: "a", options: { delay_ms: -1 } } }), "negative duration");
    assert.ok(!validate({ v: 2, job: { type: "a" } }), "unknown version");
  });

  test("an outcome message and a job envelope validate", () => {
    assert.ok(
      load("outcome-message")({
        v: 1,
        outcomes: [
          {
            job_id: "j1",
            dispatch_id: "j1",
            type: "t",
            queue: "default",
            attempt: 0,
            status: "succeeded",
            started_at: 1,
            finished_at: 2,
          },
        ],
      }),
    );
    assert.ok(
      load("job-envelope")({
        v: 1,
        job_id: "j1",
        dispatch_id: "j1",
        type: "t",
        queue: "default",
        options: {},
        attempt: 0,
        enqueued_at: 1,
      }),
    );
  });
});

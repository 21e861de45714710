/**
 * @module
 * Typed-error assertions for integration tests.
 */
import assert from "node:assert/strict";
import { JetbusError } from "../../shared/index.ts";

/** Asserts that `promise` rejects with a JetbusError of `code` (and a message matching `message`). */
export async function rejectsWithCode(
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<JetbusError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof JetbusError, `expected a JetbusError, got ${String(caught)}`);
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/**
 * @module
 * Reading a JSON request body against a TypeBox schema: a clear VALIDATION error, never a crash.
 */
import type { Context } from "hono";
import type { Static, TSchema } from "@sinclair/typebox";
import { ValidationError } from "../../../shared/protocol/errors.ts";
import { check, schemaErrors } from "../../../shared/protocol/validate.ts";

export async function readBody<T extends TSchema>(c: Context, schema: T): Promise<Static<T>> {
  let v: unknown;
  try {
    const text = await c.req.text();
    v = text ? JSON.parse(text) : {};
  } catch {
    throw new ValidationError("the request body is not JSON");
  }
  if (!check(schema, v)) throw new ValidationError(`bad request body: ${schemaErrors(schema, v).join("; ")}`);
  return v;
}

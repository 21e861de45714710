/**
 * @module
 * Decoding of protocol messages: JSON parse, version check, schema check (compiled once per schema), with
 * errors a person can act on ("jobs[3].type: must be ..."), never a stack trace.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { JetbusError, ValidationError } from "./errors.ts";
import { ErrorCodes } from "./error-codes.ts";
import { PROTOCOL_VERSION } from "./subjects.ts";

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

const decoder = new TextDecoder();

export function parseJson(data: Uint8Array | string, what: string): unknown {
  const text = typeof data === "string" ? data : decoder.decode(data);
  try {
    return JSON.parse(text);
  } catch (err) {
    const problem = `is not valid JSON: ${(err as Error).message}`;
    throw new ValidationError(`${what} ${problem}`, { errors: [`(message): ${problem}`] });
  }
}

/** `/jobs/3/type` → `jobs[3].type` */
function readablePath(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("");
}

export function schemaErrors<T extends TSchema>(schema: T, value: unknown, max = 5): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of checker(schema).Errors(value)) {
    const path = readablePath(e.path) || "(message)";
    if (seen.has(path)) continue;
    seen.add(path);
    const custom = (e.schema as { errorMessage?: string }).errorMessage;
    let msg: string;
    if (e.value === undefined && e.message.startsWith("Expected required")) msg = "is required";
    else if (e.message === "Unexpected property") msg = "is not a known field";
    else msg = custom ?? e.message.charAt(0).toLowerCase() + e.message.slice(1);
    out.push(`${path}: ${msg}`);
    if (out.length >= max) break;
  }
  return out;
}

export function check<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return checker(schema).Check(value);
}

/** Throws a ValidationError naming every bad field (up to five) unless `value` matches `schema`. */
export function assertSchema<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  if (checker(schema).Check(value)) return value;
  const errors = schemaErrors(schema, value);
  throw new ValidationError(`invalid ${what}: ${errors.join("; ")}`, { errors });
}

/** Parse + version + schema. Messages carry `v`; a different version gets its own error code. */
export function decodeMessage<T extends TSchema>(
  schema: T,
  data: Uint8Array | string,
  what: string,
): Static<T> {
  const value = parseJson(data, what);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    // The same `details.errors` as a schema failure, so a client reads every VALIDATION reply one way.
    throw new ValidationError(`${what} must be a JSON object`, {
      errors: ["(message): must be a JSON object"],
    });
  }
  const v = (value as { v?: unknown }).v;
  if (v !== PROTOCOL_VERSION) {
    throw new JetbusError(
      ErrorCodes.UnsupportedVersion,
      v === undefined
        ? `${what} has no protocol version: set "v": ${PROTOCOL_VERSION}`
        : `unsupported protocol version ${JSON.stringify(v)}: this service speaks v${PROTOCOL_VERSION}`,
    );
  }
  return assertSchema(schema, value, what);
}

const encoder = new TextEncoder();
export function encodeMessage(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

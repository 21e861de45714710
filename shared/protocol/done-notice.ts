/**
 * @module
 * Reading a done notice (`jetbus.done.<id>`). Anyone can publish there, so a notice counts only when it is
 * it matches the schema and names the id it was published for.
 */
import { DoneNotice as DoneNoticeSchema } from "./outcome.ts";
import type { DoneNotice } from "./schemas.ts";
import { check, parseJson } from "./validate.ts";

/** The notice for `id` in `data`, or null for anything else. */
export function decodeDoneNotice(data: Uint8Array, id: string): DoneNotice | null {
  let n: unknown;
  try {
    n = parseJson(data, "done notice");
  } catch {
    return null;
  }
  if (!check(DoneNoticeSchema, n)) return null;
  return (n.kind === "job" ? n.record.dispatch_id : n.id) === id ? n : null;
}

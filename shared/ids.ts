/**
 * @module
 * Ids as the Go `bus` package makes them: a prefix and 16 lowercase hex characters (`dsp_`, `chn_`, `bat_`, `wrk_`).
 * Clients make dispatch ids, so a retried request carries the same one.
 */
import { randomBytes } from "node:crypto";

export type IdPrefix = "dsp" | "chn" | "bat" | "wrk" | "evt";

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}

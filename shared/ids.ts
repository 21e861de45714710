/**
 * @module
 * Ids: a prefix and lowercase hex (`dsp_`, `chn_`, `bat_`, `wrk_`), as the Go `bus` package makes them. Clients
 * make dispatch ids, so a retried request carries the same one. A dispatch id starts with the time it was made
 * (11 hex digits of epoch milliseconds, then 12 random ones): the result of its job is then kept in a batch with
 * the others of its time window (`shared/protocol/results.ts`), so a result costs no stored message of its own.
 */
import { randomFillSync } from "node:crypto";

export type IdPrefix = "dsp" | "chn" | "bat" | "wrk" | "evt";

/** Random bytes are drawn a pool at a time: a bulk dispatch makes a thousand ids at once. */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return hex;
}

export function newId(prefix: IdPrefix, now = Date.now()): string {
  if (prefix !== "dsp") return `${prefix}_${randomHex(8)}`;
  return `dsp_${now.toString(16).padStart(11, "0")}${randomHex(6)}`;
}

/**
 * @module
 * 2.9.10 ignores per-key TTL, so keys whose expiry lives in their value (uniqueFor claims, locks, rate-limit
 * windows) are swept here: a key is purged only at the revision that was read as expired, so a key renewed in
 * the meantime survives. The buckets' age limits are the backstop.
 */
import type { KV } from "@nats-io/kv";
import { isRevisionConflict, listKeys } from "./kv.ts";

export async function sweepExpired(kv: KV, now: number): Promise<number> {
  let removed = 0;
  for (const key of await listKeys(kv)) {
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    let expiresAt: number | undefined;
    try {
      expiresAt = e.json<{ expires_at?: number }>().expires_at;
    } catch {
      continue;
    }
    if (expiresAt === undefined || expiresAt > now) continue;
    try {
      await kv.purge(key, { previousSeq: e.revision });
      removed++;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
  }
  return removed;
}

/**
 * @module
 * `uniqueFor` across every dispatcher replica: one KV key per logical job (sha256 of queue, type and canonical
 * payload) holding the claiming dispatch id, written with a server TTL so the key vanishes by itself.
 *
 * The server's TTL acts in whole seconds (rounded up here), so the value keeps the exact `expires_at` too:
 * a 300 ms uniqueFor lives 1 s on the server, and a duplicate 400 ms later must be accepted. A key still live
 * on the server but expired by its value is taken over with a compare-and-set at its revision; a key gone
 * (a PURGE marker, or nothing) is written over the same way at the marker's revision (or 0).
 */
import { canonicalJson } from "../../shared/protocol/canonical-json.ts";
import { keys } from "../../shared/protocol/names.ts";
import { isRevisionConflict } from "../../shared/nats/kv.ts";
import type { TtlBucket } from "../../shared/nats/kv-ttl.ts";

export interface UniqueValue {
  dispatch_id: string;
  expires_at: number;
}

export type ClaimResult =
  { ok: true; key: string; revision: number } | { ok: false; holder: string; expiresAt: number };

function readHeld(data: () => UniqueValue): UniqueValue | null {
  try {
    const v = data();
    return typeof v?.dispatch_id === "string" && typeof v.expires_at === "number" ? v : null;
  } catch {
    return null;
  }
}

export class UniqueClaims {
  constructor(
    private readonly bucket: TtlBucket,
    private readonly now: () => number = Date.now,
  ) {}

  static key(queue: string, type: string, payload: unknown): string {
    return keys.unique(queue, type, canonicalJson(payload));
  }

  async claim(key: string, dispatchId: string, ttlMs: number): Promise<ClaimResult> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const now = this.now();
      const value = JSON.stringify({
        dispatch_id: dispatchId,
        expires_at: now + ttlMs,
      } satisfies UniqueValue);
      const e = await this.bucket.get(key);
      // A value that cannot be read is treated as expired: it is overwritten rather than blocking the job.
      const held = e?.operation === "PUT" ? readHeld(() => e.json<UniqueValue>()) : null;
      // The same dispatch id retried: it already owns the claim, and the publish dedupes by msg id.
      if (held?.dispatch_id === dispatchId) return { ok: true, key, revision: e!.revision };
      if (held && held.expires_at > now)
        return { ok: false, holder: held.dispatch_id, expiresAt: held.expires_at };
      try {
        return { ok: true, key, revision: await this.bucket.write(key, value, e?.revision ?? 0, ttlMs) };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new Error(`could not claim unique key ${key}: too much contention`);
  }

  /** Gives the claim back after a dispatch that certainly stored nothing; a later owner's claim is kept. */
  release(key: string, revision: number): Promise<void> {
    return this.bucket.release(key, revision);
  }
}

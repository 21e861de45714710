/**
 * @module
 * `uniqueFor` across every dispatcher replica: one KV key per logical job (sha256 of queue, type and canonical
 * payload) holding the claiming dispatch id and its expiry. 2.9.10 has no per-key TTL, so the expiry lives in
 * the value and an expired claim is taken over with a revision-checked update; the janitor removes old keys.
 */
import type { KV } from "@nats-io/kv";
import { canonicalJson } from "../../shared/protocol/canonical-json.ts";
import { keys } from "../../shared/protocol/names.ts";
import { isRevisionConflict } from "../../shared/nats/kv.ts";

export interface UniqueValue {
  dispatch_id: string;
  expires_at: number;
}

export type ClaimResult =
  { ok: true; key: string; revision: number } | { ok: false; holder: string; expiresAt: number };

export class UniqueClaims {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  static key(queue: string, type: string, payload: unknown): string {
    return keys.unique(queue, type, canonicalJson(payload));
  }

  async claim(key: string, dispatchId: string, ttlMs: number): Promise<ClaimResult> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const value = JSON.stringify({
        dispatch_id: dispatchId,
        expires_at: this.now() + ttlMs,
      } satisfies UniqueValue);
      const e = await this.kv.get(key);
      try {
        if (!e) return { ok: true, key, revision: await this.kv.create(key, value) };
        if (e.operation === "PUT") {
          const held = e.json<UniqueValue>();
          // The same dispatch id retried: it already owns the claim, and the publish dedupes by msg id.
          if (held.dispatch_id === dispatchId) return { ok: true, key, revision: e.revision };
          if (held.expires_at > this.now())
            return { ok: false, holder: held.dispatch_id, expiresAt: held.expires_at };
        }
        return { ok: true, key, revision: await this.kv.update(key, value, e.revision) };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new Error(`could not claim unique key ${key}: too much contention`);
  }

  /** Gives the claim back after a dispatch that certainly stored nothing; a later owner's claim is kept. */
  async release(key: string, revision: number): Promise<void> {
    try {
      await this.kv.purge(key, { previousSeq: revision });
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
  }
}

/**
 * @module
 * KV helpers: revision conflicts recognised by code (10071, or 10164 on newer servers), live-entry reads
 * (a deleted key still returns an entry, NATS-NOTES §5), and the revision-checked read-modify-write loop.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import { delay } from "@nats-io/transport-node";

export function isRevisionConflict(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  return (
    err.code === JetStreamApiCodes.StreamWrongLastSequence ||
    err.code === (JetStreamApiCodes as Record<string, number>).StreamWrongLastSequenceUnknown ||
    err.code === 10164
  );
}

export async function getLive(kv: KV, key: string): Promise<KvEntry | null> {
  const e = await kv.get(key);
  return e && e.operation === "PUT" ? e : null;
}

export interface CasResult<T> {
  value: T;
  revision: number;
}

/**
 * Read → mutate → write with the read revision; on conflict re-read and re-apply. `mutate` returning
 * `undefined` means "no write needed". Conflicts are counted so metrics can show contention.
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  mutate: (current: T | null) => T | undefined,
  opts: { maxRetries?: number; onConflict?: () => void } = {},
): Promise<CasResult<T> | null> {
  const maxRetries = opts.maxRetries ?? 50;
  for (let attempt = 0; ; attempt++) {
    const entry = await kv.get(key);
    const live = entry !== null && entry.operation === "PUT";
    const current = live ? entry.json<T>() : null;
    const next = mutate(current);
    if (next === undefined) return current === null ? null : { value: current, revision: entry!.revision };
    const data = JSON.stringify(next);
    try {
      const revision = live
        ? await kv.update(key, data, entry.revision)
        : entry
          ? await kv.update(key, data, entry.revision) // a DEL/PURGE marker: update on top of it
          : await kv.create(key, data);
      return { value: next, revision };
    } catch (err) {
      if (!isRevisionConflict(err) || attempt >= maxRetries) throw err;
      opts.onConflict?.();
      await delay(Math.random() * 3 * (attempt + 1));
    }
  }
}

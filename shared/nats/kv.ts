/**
 * @module
 * KV helpers: revision conflicts recognised by code (10071, or 10164 on newer servers), live-entry reads
 * (a deleted or purged key still returns an entry, with operation DEL or PURGE), and the revision-checked read-modify-write loop.
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

/**
 * `kv.keys()` with a bound. nats.js ends a key listing when a key arrives with `pending === 0`, or else at the
 * ordered consumer's idle heartbeat (30 s). When keys change during the listing (a worker purging its registry
 * key, a lock released, a workflow finishing) that signal can be missed on 2.9.10, and the listing then hangs
 * for 30 s, stalling whoever waits on it (the reconciler, a drain). So a listing that goes `idleMs` without a
 * new key is stopped and started again.
 */
export async function listKeys(kv: KV, filter = ">", idleMs = 2_000, tries = 5): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const it = await kv.keys(filter);
    const out: string[] = [];
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        it.stop();
      }, idleMs);
    };
    arm();
    try {
      for await (const k of it) {
        out.push(k);
        arm();
      }
    } finally {
      clearTimeout(timer);
    }
    // A key written while the listing runs is delivered again (the listing follows the bucket until it has
    // caught up): each key once.
    if (!stalled) return [...new Set(out)];
    if (attempt >= tries) throw new Error(`listing KV keys "${filter}" stalled ${tries} times`);
  }
}

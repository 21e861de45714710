/**
 * @module
 * KV keys that expire by server TTL (uniqueFor claims, locks, rate-limit windows).
 *
 * nats.js 3.4 gives a per-key TTL only to `kv.create`; `put` and `update` take none, so a compare-and-set
 * with a TTL (a lock taken over, a window counted up) is written here as a raw publish to the key's subject
 * with `Nats-TTL` and `Nats-Expected-Last-Subject-Sequence`. One operation covers all cases:
 * - inputs: key, value, the revision last read (0 when the key never existed or has fully vanished), a TTL in ms;
 * - precondition: the key's last message is that revision (over a DEL/PURGE marker: the marker's revision);
 * - outcome: the new revision, or a revision conflict (JetStream 10071, `isRevisionConflict`) when another
 *   writer got there first; `TOPOLOGY_OUTDATED` when the bucket was made without per-key TTL support.
 *
 * The server's TTL has a 1 s minimum and acts in whole seconds (with ~0.25 s timer slack, so "1500ms" went
 * after 1.25 s): TTLs are rounded up to whole seconds, and callers that need sub-second precision keep the
 * exact expiry in the value too.
 */
import { JetStreamApiError, PubHeaders, type JetStreamClient } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import { headers } from "@nats-io/transport-node";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetbusError } from "../protocol/errors.ts";
import { kvSubjects } from "../protocol/subjects.ts";
import { isRevisionConflict } from "./kv.ts";
import { EXPIRY_MARKER_TTL_MS } from "./topology.ts";

/** The server's "per-message TTL is disabled" (a bucket made by an older jetbus, before `jetbus init --apply`). */
const TTL_DISABLED = 10166;

/** Whole seconds, rounded up, at least the server's minimum of 1 s. */
export function ttlSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function keyTtlMissingMessage(buckets: string[]): string {
  const list = buckets.join(", ");
  return `KV bucket${buckets.length > 1 ? "s" : ""} ${list} ${buckets.length > 1 ? "were" : "was"} made without per-key TTL support (by an older jetbus): run \`jetbus init --apply\` to turn it on`;
}

function translate(err: unknown, bucket: string): unknown {
  if (err instanceof JetStreamApiError && err.code === TTL_DISABLED)
    return new JetbusError(ErrorCodes.TopologyOutdated, keyTtlMissingMessage([bucket]), {
      retryable: true,
      cause: err,
    });
  return err;
}

export class TtlBucket {
  constructor(
    readonly kv: KV,
    private readonly js: JetStreamClient,
    readonly name: string,
  ) {}

  get(key: string): Promise<KvEntry | null> {
    return this.kv.get(key);
  }

  /** Writes `value` if the key's last revision is `revision` (0: none); it expires `ttlMs` (rounded up to seconds) later. */
  async write(key: string, value: string, revision: number, ttlMs: number): Promise<number> {
    const h = headers();
    h.set(PubHeaders.MessageTTL, `${ttlSeconds(ttlMs)}s`);
    h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(revision));
    try {
      return (await this.js.publish(kvSubjects.key(this.name, key), value, { headers: h })).seq;
    } catch (err) {
      throw translate(err, this.name);
    }
  }

  /**
   * Removes the key if its last revision is still `revision` (a later owner's write is kept: a conflict, which
   * is swallowed). The purge marker expires too, so a released key leaves nothing behind.
   */
  async release(key: string, revision: number): Promise<void> {
    try {
      await this.kv.purge(key, { previousSeq: revision, ttl: `${ttlSeconds(EXPIRY_MARKER_TTL_MS)}s` });
    } catch (err) {
      if (isRevisionConflict(err)) return;
      throw translate(err, this.name);
    }
  }
}

/**
 * @module
 * Byte budgets: every message and record jetbus builds is checked against one of these before it is built, so
 * nothing grows past the server's `max_payload` and wedges a reader or a writer (docs/protocol.md §Budgets).
 * Sizes are UTF-8 bytes (`Buffer.byteLength`), never string lengths. Truncating an error is pure and the core
 * needs it, so it lives in `shared/core/truncate.ts` (the core may import no runtime code from here; its
 * constants are checked against these by type).
 */
export const BUDGETS = {
  /** an error kept in an outcome entry, a result record or a workflow record (message and details together) */
  storedErrorBytes: 8192,
  /** an error kept in a dead letter: in full up to this, truncated with a marker beyond it */
  deadLetterErrorBytes: 262144,
  /** room left below a message limit for headers and the frame around a packed list */
  headroomBytes: 8 * 1024,
  /** a workflow record with its outbox, as stored (the write is refused beyond it, never retried forever) */
  workflowRecordBytes: 786432,
  /** (queue, type) runs a batch record keeps for the lost-member reconciler (members of one type in a row are one) */
  batchMemberRuns: 8192,
  /** the server's `max_payload` when the connection has not said (nats-server's default) */
  defaultMaxPayloadBytes: 1024 * 1024,
} as const;

export const byteLength = (s: string): number => Buffer.byteLength(s, "utf8");

/** The bytes a packed message may hold: the smaller of the server's and the stream's limit, less headroom. */
export function messageBudget(maxPayload: number | undefined, streamMaxBytes?: number): number {
  const limit = Math.min(
    maxPayload && maxPayload > 0 ? maxPayload : BUDGETS.defaultMaxPayloadBytes,
    streamMaxBytes && streamMaxBytes > 0 ? streamMaxBytes : Infinity,
  );
  return Math.max(1024, limit - BUDGETS.headroomBytes);
}

export interface Packed<T> {
  /** items in their order, cut so that each pack's items (plus one separator byte each) fit `maxBytes` */
  packs: T[][];
  /** items that alone exceed `maxBytes`: they fit no message and must be failed, not retried */
  oversize: T[];
}

/**
 * Cuts a list into messages by bytes (and at most `maxCount` items each). `sizeOf` gives an item's encoded
 * size; `maxBytes` is what the items of one message may take (the frame around them is the caller's headroom).
 * An item that alone exceeds `maxBytes` is set apart in `oversize`, or with `oversizeAlone` kept in order in a
 * pack of its own (for a receiver that refuses it with a clear error, e.g. the dispatcher's PAYLOAD_TOO_LARGE).
 */
export function packBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxCount = Infinity,
  oversizeAlone = false,
): Packed<T> {
  const packs: T[][] = [];
  const oversize: T[] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = sizeOf(item) + 1;
    if (size > maxBytes && !oversizeAlone) {
      oversize.push(item);
      continue;
    }
    if (current.length > 0 && (used + size > maxBytes || current.length >= maxCount)) {
      packs.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += size;
  }
  if (current.length > 0) packs.push(current);
  return { packs, oversize };
}

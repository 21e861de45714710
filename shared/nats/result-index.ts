/**
 * @module
 * Which batches on a results subject hold which dispatch ids, per process. Without it every `bus.wait` for a
 * job that finished earlier reads its whole results subject from the window's start: 4,000 such waits in one
 * window read the same batches 4,000 times. Here a subject is read once, then only what was stored since,
 * and readers that arrive while a read runs share the next one. A read always starts after the lookup that
 * needs it, so a result stored before `bus.wait` was called is never missed.
 *
 * Memory stays bounded: the index keeps stream sequences, not records (a hit re-reads its one or two batches,
 * and the last few decoded batches are cached), and forgets the least recently used subjects past `maxIds`.
 */
import { JetStreamError, type JetStreamManager } from "@nats-io/jetstream";
import { STREAMS } from "../protocol/names.ts";
import { CLOCK_SKEW_MS, decodeResultBatch, RESULT_WINDOW_MS } from "../protocol/results.ts";
import type { ResultRecord } from "../protocol/schemas.ts";

/** Batches asked for per direct read (the server may send fewer: it also stops at a byte limit). */
const PAGE = 256;

export interface ResultIndexLimits {
  /** ids indexed at most, over all subjects */
  maxIds: number;
  /** decoded batches kept for hits */
  cachedBatches: number;
}

const DEFAULT_LIMITS: ResultIndexLimits = { maxIds: 200_000, cachedBatches: 64 };

/** One results subject: the batches read so far, by the ids they hold. */
class SubjectIndex {
  /** the next sequence to read from; 0 until the first read (which starts by time) */
  nextSeq = 0;
  readonly seqsById = new Map<string, number[]>();
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    private readonly readMore: (ix: SubjectIndex) => Promise<void>,
    readonly fromTime: Date,
  ) {}

  /** Resolves once a read that started after this call has finished. */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return (this.running = this.run());
    // The running read may have passed batches stored just before this call: queue one more, shared.
    this.queued ??= this.running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.queued = null;
        return (this.running = this.run());
      });
    return this.queued;
  }

  private async run(): Promise<void> {
    try {
      await this.readMore(this);
    } finally {
      this.running = null;
    }
  }
}

export class ResultIndex {
  private readonly subjects = new Map<string, SubjectIndex>();
  private readonly batches = new Map<number, Promise<ResultRecord[]>>();
  private ids = 0;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly limits: ResultIndexLimits = DEFAULT_LIMITS,
  ) {}

  /** Ids indexed now, over all subjects. */
  get indexedIds(): number {
    return this.ids;
  }

  /** Every record of `dispatchId` stored on `subject` up to now, in stream order. */
  async find(subject: string, dispatchId: string, windowStart: number): Promise<ResultRecord[]> {
    let ix = this.subjects.get(subject);
    if (ix) this.subjects.delete(subject);
    else
      ix = new SubjectIndex(
        (i) => this.readMore(subject, i),
        new Date(Math.max(0, windowStart - CLOCK_SKEW_MS)),
      );
    this.subjects.set(subject, ix); // most recently used last
    await ix.refresh();
    const found: ResultRecord[] = [];
    for (const seq of ix.seqsById.get(dispatchId) ?? [])
      for (const r of await this.batch(seq)) if (r.dispatch_id === dispatchId) found.push(r);
    return found;
  }

  private async readMore(subject: string, ix: SubjectIndex): Promise<void> {
    for (let more = true; more;) {
      let n = 0;
      let pending = -1;
      try {
        const page = await this.jsm.direct.getBatch(
          STREAMS.results,
          ix.nextSeq === 0
            ? { start_time: ix.fromTime, next_by_subj: subject, batch: PAGE }
            : { seq: ix.nextSeq, next_by_subj: subject, batch: PAGE },
        );
        for await (const sm of page) {
          n++;
          ix.nextSeq = sm.seq + 1;
          pending = sm.pending;
          const results = decodeResultBatch(sm.data);
          this.remember(sm.seq, Promise.resolve(results));
          // A subject forgotten while this read ran no longer counts towards the limit.
          const counted = this.subjects.get(subject) === ix;
          for (const r of results) {
            const seqs = ix.seqsById.get(r.dispatch_id);
            if (seqs) {
              if (seqs[seqs.length - 1] !== sm.seq) seqs.push(sm.seq);
            } else {
              ix.seqsById.set(r.dispatch_id, [sm.seq]);
              if (counted) this.ids++;
            }
          }
        }
      } catch (err) {
        // No (more) messages on the subject: the server answers "not found" rather than an empty batch.
        if (!isNotFound(err)) throw err;
      }
      // A page ends at PAGE messages or at the server's byte limit: what is left says whether to go on.
      more = pending > 0 || (pending < 0 && n >= PAGE);
    }
    this.trim();
  }

  /** The results of the batch at `seq`: cached (or being read), or read again (a purged one has none). */
  private batch(seq: number): Promise<ResultRecord[]> {
    const cached = this.batches.get(seq);
    if (cached) return cached;
    const reading = this.jsm.direct.getMessage(STREAMS.results, { seq }).then(
      (sm) => (sm ? decodeResultBatch(sm.data) : []),
      (err: unknown) => {
        if (isNotFound(err)) return [];
        this.batches.delete(seq);
        throw err;
      },
    );
    this.remember(seq, reading);
    return reading;
  }

  private remember(seq: number, results: Promise<ResultRecord[]>): void {
    this.batches.delete(seq);
    this.batches.set(seq, results);
    while (this.batches.size > this.limits.cachedBatches)
      this.batches.delete(this.batches.keys().next().value!);
  }

  /** Forgets the least recently used subjects while over `maxIds` (a forgotten one is read afresh if asked). */
  private trim(): void {
    while (this.ids > this.limits.maxIds && this.subjects.size > 1) {
      const [oldest, ix] = this.subjects.entries().next().value!;
      this.subjects.delete(oldest);
      this.ids -= ix.seqsById.size;
    }
  }
}

function isNotFound(err: unknown): boolean {
  // a JetStreamStatusError, which the package entry exports only as its base class
  return err instanceof JetStreamError && (err as { code?: unknown }).code === 404;
}

/** The start of the window a results subject covers, from its dispatch time. */
export const windowStartOf = (dispatchTime: number): number =>
  Math.floor(dispatchTime / RESULT_WINDOW_MS) * RESULT_WINDOW_MS;

const indexes = new WeakMap<JetStreamManager, ResultIndex>();

/** The index this process keeps for a connection's JetStream manager. */
export function resultIndexOf(jsm: JetStreamManager): ResultIndex {
  let ix = indexes.get(jsm);
  if (!ix) indexes.set(jsm, (ix = new ResultIndex(jsm)));
  return ix;
}

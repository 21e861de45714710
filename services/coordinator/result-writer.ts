/**
 * @module
 * Recording plain jobs' results, a group of outcomes at a time. Results of time-ordered dispatch ids go out in
 * batches per results subject the group touches (`jetbus.results.<window>.<shard>`), packed by bytes under the
 * message budget; each part's msg id is a hash of its body, so a redelivered group stores nothing new and two
 * different batches never share an id (a repeated group id would have made the duplicate window drop one). A
 * record too big for a batch, of an id made otherwise, or of an id dated past the clock-skew allowance gets a
 * record of its own in `jetbus-results`, written only if none exists (the first outcome wins; a replay
 * overwrites).
 *
 * A batch cannot refuse a second result of the same job, so duplicates are told apart here: an outcome this
 * coordinator recorded in a group that then succeeded as a whole ({@link ResultWriter.commit}) is a duplicate
 * (its events and done notice are not sent again). Nothing else is: one that reaches another replica (or this
 * one after a group failed half-way, or after a restart) is recorded twice; readers take the first
 * (`pickResult`), a record of its own already there counts as recorded, and its notice and events are sent
 * again (waiters and observers deduplicate them; never sending them could leave a waiter without its notice).
 *
 * Each record is encoded once: its JSON goes into the batch and into the job's done notice.
 */
import { createHash } from "node:crypto";
import { BUDGETS, byteLength, messageBudget, packBySize } from "../../shared/protocol/budgets.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { resultRecord } from "../../shared/protocol/outcome-builders.ts";
import { BATCHED_RECORD_MAX_BYTES, resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry, ResultRecord } from "../../shared/protocol/schemas.ts";
import { kvSubjects } from "../../shared/protocol/subjects.ts";
import {
  JetStreamPublishError,
  PublishErrorCodes,
  type JetStreamPublisher,
} from "../../shared/nats/publisher.ts";
import { RecentSet } from "../../shared/workflow/recent-set.ts";

/** How long, and how many, recorded outcomes this coordinator remembers to tell duplicates apart. */
const RECENT = { entries: 200_000, maxAgeMs: 10 * 60_000 };

/** A recorded result: the outcome and its record's JSON. */
export interface Recorded {
  outcome: OutcomeEntry;
  recordJson: string;
}

interface Sized extends Recorded {
  bytes: number;
}

const FRAME = `{"v":1,"results":[]}`;

const outcomeKey = (o: OutcomeEntry) => `${o.dispatch_id}.${o.replay ?? 0}`;

/** A results batch's msg id: its content, so equal bodies dedupe and different ones never collide. */
export const resultBatchMsgId = (body: string): string =>
  `res-${createHash("sha256").update(body).digest("base64url").slice(0, 24)}`;

export interface ResultWriterOptions {
  now?: () => number;
  /** bytes a results batch may take (see `messageBudget`) */
  maxBytes?: number;
}

export class ResultWriter {
  private readonly recent = new RecentSet(RECENT.entries, RECENT.maxAgeMs);
  private readonly now: () => number;
  private readonly maxBytes: number;

  constructor(
    private readonly publisher: JetStreamPublisher,
    opts: ResultWriterOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxBytes = (opts.maxBytes ?? messageBudget(undefined)) - FRAME.length;
  }

  /**
   * Records the terminal outcomes of plain jobs; resolves with those that were new (not recorded by a group
   * that succeeded before). Call {@link commit} with them once the whole group has succeeded.
   */
  async record(outcomes: readonly OutcomeEntry[]): Promise<Recorded[]> {
    const fresh: Recorded[] = [];
    const batches = new Map<string, Sized[]>();
    const own: Recorded[] = [];
    const keysSeen = new Set<string>();
    const now = this.now();
    for (const outcome of outcomes) {
      const key = outcomeKey(outcome);
      if (this.recent.has(key, now) || keysSeen.has(key)) continue;
      keysSeen.add(key);
      const r = this.sized(outcome);
      const subject = r.bytes <= BATCHED_RECORD_MAX_BYTES ? resultSubject(outcome.dispatch_id, now) : null;
      if (!subject) {
        own.push(r);
        continue;
      }
      fresh.push(r);
      let list = batches.get(subject);
      if (!list) batches.set(subject, (list = []));
      list.push(r);
    }
    await Promise.all(own.map((r) => this.recordOwn(r)));
    await Promise.all(
      [...batches].flatMap(([subject, records]) =>
        packBySize(records, (r) => r.bytes, this.maxBytes).packs.map((part) => {
          const body = `{"v":1,"results":[${part.map((r) => r.recordJson).join(",")}]}`;
          return this.publisher.publish(subject, body, { msgId: resultBatchMsgId(body) });
        }),
      ),
    );
    fresh.push(...own);
    return fresh;
  }

  /**
   * The group these were recorded in succeeded (workflow writes done, about to ack): from now on they are
   * duplicates. Not before: a group that fails half-way comes back, and its outcomes are new then.
   */
  commit(recorded: readonly Recorded[]): void {
    const now = this.now();
    for (const r of recorded) this.recent.add(outcomeKey(r.outcome), now);
  }

  /** The record and its size; one that could never be stored (a foreign worker's huge result) fails instead. */
  private sized(outcome: OutcomeEntry): Sized {
    let record: ResultRecord = resultRecord(outcome);
    let json = JSON.stringify(record);
    let bytes = byteLength(json);
    if (bytes > this.maxBytes - BUDGETS.headroomBytes) {
      const { result: _, ...rest } = record;
      record = {
        ...rest,
        status: "failed",
        error: {
          code: ErrorCodes.ResultTooLarge,
          message: `the job's result record is ${bytes} bytes, over the ${this.maxBytes}-byte budget`,
          retryable: false,
        },
      };
      json = JSON.stringify(record);
      bytes = byteLength(json);
    }
    return { outcome, recordJson: json, bytes };
  }

  /** A record of its own, unless one exists (first outcome wins: the one there is this job's, recorded). */
  private async recordOwn(r: Recorded): Promise<void> {
    const subject = kvSubjects.key(BUCKETS.results, keys.result(r.outcome.dispatch_id));
    try {
      await this.publisher.publish(
        subject,
        r.recordJson,
        r.outcome.replay ? {} : { expectLastSubjectSequence: 0 },
      );
    } catch (err) {
      // Already recorded (by a try of this group that failed later, another replica, or before a restart).
      if (err instanceof JetStreamPublishError && err.code === PublishErrorCodes.WrongLastSequence) return;
      throw err;
    }
  }
}

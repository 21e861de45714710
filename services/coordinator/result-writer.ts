/**
 * @module
 * Recording plain jobs' results, a group of outcomes at a time. Results of time-ordered dispatch ids go out as
 * one message per results subject the group touches (`jetbus.results.<window>.<shard>`; msg id from the group,
 * so a redelivered group stores nothing new); a record too big for a batch, or of any other id, gets a record of
 * its own in `jetbus-results`, written only if none exists (the first outcome wins; a replay overwrites).
 *
 * A batch cannot refuse a second result of the same job, so duplicates are told apart here: an outcome seen by
 * this coordinator recently is a duplicate (its events and done notice are not sent again). One that reaches
 * another replica is recorded twice; readers take the first (`pickResult`), and events keep their ids.
 *
 * Each record is encoded once: its JSON goes into the batch and into the job's done notice.
 */
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { resultRecord } from "../../shared/protocol/outcome-builders.ts";
import { BATCHED_RECORD_MAX_BYTES, resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import {
  JetStreamPublishError,
  PublishErrorCodes,
  type JetStreamPublisher,
} from "../../shared/nats/publisher.ts";
import { RecentSet } from "../../shared/workflow/recent-set.ts";

const RESULTS_PREFIX = "jetbus.results.";

/** How long, and how many, recorded outcomes this coordinator remembers to tell duplicates apart. */
const RECENT = { entries: 200_000, maxAgeMs: 10 * 60_000 };

/** A recorded result: the outcome and its record's JSON. */
export interface Recorded {
  outcome: OutcomeEntry;
  recordJson: string;
}

export class ResultWriter {
  private readonly recent = new RecentSet(RECENT.entries, RECENT.maxAgeMs);

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the terminal outcomes of plain jobs; resolves with those that were new (not duplicates). */
  async record(outcomes: readonly OutcomeEntry[], groupId: string): Promise<Recorded[]> {
    const fresh: Recorded[] = [];
    const batches = new Map<string, string[]>();
    const own: Recorded[] = [];
    const keysSeen = new Set<string>();
    const now = this.now();
    for (const outcome of outcomes) {
      const key = `${outcome.dispatch_id}.${outcome.replay ?? 0}`;
      if (this.recent.has(key, now) || keysSeen.has(key)) continue;
      keysSeen.add(key);
      const r: Recorded = { outcome, recordJson: JSON.stringify(resultRecord(outcome)) };
      const subject =
        r.recordJson.length <= BATCHED_RECORD_MAX_BYTES ? resultSubject(outcome.dispatch_id) : null;
      if (!subject) {
        own.push(r);
        continue;
      }
      fresh.push(r);
      let list = batches.get(subject);
      if (!list) batches.set(subject, (list = []));
      list.push(r.recordJson);
    }
    const kept = await Promise.all(own.map(async (r) => ((await this.recordOwn(r)) ? r : null)));
    await Promise.all(
      [...batches].map(([subject, records]) =>
        this.publisher.publish(subject, `{"v":1,"results":[${records.join(",")}]}`, {
          msgId: `res-${groupId}-${subject.slice(RESULTS_PREFIX.length)}`,
        }),
      ),
    );
    // Only once stored: a group that failed comes back, and its outcomes are not duplicates then.
    for (const key of keysSeen) this.recent.add(key, now);
    for (const r of kept) if (r) fresh.push(r);
    return fresh;
  }

  /** A record of its own, unless one exists (first outcome wins); false for a duplicate. */
  private async recordOwn(r: Recorded): Promise<boolean> {
    const subject = `$KV.${BUCKETS.results}.${keys.result(r.outcome.dispatch_id)}`;
    try {
      await this.publisher.publish(
        subject,
        r.recordJson,
        r.outcome.replay ? {} : { expectLastSubjectSequence: 0 },
      );
      return true;
    } catch (err) {
      if (err instanceof JetStreamPublishError && err.code === PublishErrorCodes.WrongLastSequence)
        return false;
      throw err;
    }
  }
}

/**
 * @module
 * Recording plain jobs' results, a group of outcomes at a time. Results of time-ordered dispatch ids go out as
 * one message per results subject the group touches (`jetbus.results.<window>.<shard>`; msg id from the group,
 * so a redelivered group stores nothing new); other ids get a record of their own in `jetbus-results`, written
 * only if none exists (the first outcome wins; a replay overwrites).
 *
 * A batch cannot refuse a second result of the same job, so duplicates are told apart here: an outcome seen by
 * this coordinator recently is a duplicate (its events and done notice are not sent again). One that reaches
 * another replica is recorded twice; readers take the first (`pickResult`), and events keep their ids.
 */
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { resultRecord } from "../../shared/protocol/outcome-builders.ts";
import { resultSubject } from "../../shared/protocol/results.ts";
import type { OutcomeEntry, ResultRecord } from "../../shared/protocol/schemas.ts";
import { encodeMessage } from "../../shared/protocol/validate.ts";
import {
  JetStreamPublishError,
  PublishErrorCodes,
  type JetStreamPublisher,
} from "../../shared/nats/publisher.ts";
import { RecentSet } from "../../shared/workflow/recent-set.ts";

const RESULTS_PREFIX = "jetbus.results.";

/** How long, and how many, recorded outcomes this coordinator remembers to tell duplicates apart. */
const RECENT = { entries: 200_000, maxAgeMs: 10 * 60_000 };

export class ResultWriter {
  private readonly recent = new RecentSet(RECENT.entries, RECENT.maxAgeMs);

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the terminal outcomes of plain jobs; resolves with the ones that were duplicates. */
  async record(outcomes: readonly OutcomeEntry[], groupId: string): Promise<Set<OutcomeEntry>> {
    const duplicates = new Set<OutcomeEntry>();
    const batches = new Map<string, ResultRecord[]>();
    const own: OutcomeEntry[] = [];
    const recorded = new Set<string>();
    const now = this.now();
    for (const o of outcomes) {
      const key = `${o.dispatch_id}.${o.replay ?? 0}`;
      if (this.recent.has(key, now) || recorded.has(key)) {
        duplicates.add(o);
        continue;
      }
      recorded.add(key);
      const subject = resultSubject(o.dispatch_id);
      if (!subject) {
        own.push(o);
        continue;
      }
      let list = batches.get(subject);
      if (!list) batches.set(subject, (list = []));
      list.push(resultRecord(o));
    }
    await Promise.all([
      ...[...batches].map(([subject, results]) =>
        this.publisher.publish(subject, encodeMessage({ v: 1, results }), {
          msgId: `res-${groupId}-${subject.slice(RESULTS_PREFIX.length)}`,
        }),
      ),
      ...own.map(async (o) => {
        if (!(await this.recordOwn(o))) duplicates.add(o);
      }),
    ]);
    // Only once stored: a group that failed comes back, and its outcomes are not duplicates then.
    for (const key of recorded) this.recent.add(key, now);
    return duplicates;
  }

  /** A record of its own, unless one exists (first outcome wins); false for a duplicate. */
  private async recordOwn(o: OutcomeEntry): Promise<boolean> {
    const subject = `$KV.${BUCKETS.results}.${keys.result(o.dispatch_id)}`;
    try {
      await this.publisher.publish(
        subject,
        encodeMessage(resultRecord(o)),
        o.replay ? {} : { expectLastSubjectSequence: 0 },
      );
      return true;
    } catch (err) {
      if (err instanceof JetStreamPublishError && err.code === PublishErrorCodes.WrongLastSequence)
        return false;
      throw err;
    }
  }
}

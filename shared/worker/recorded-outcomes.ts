/**
 * @module
 * Telling a lost ack from a dead worker. A job delivered again (a server restart, a leader change, an ack that
 * never arrived) whose terminal outcome is already recorded must not run again, nor be dead-lettered as
 * `worker_died`: it is settled (acked) from what is recorded. Recorded means: reported by this worker, kept in
 * the results (a plain job), or held by its workflow record (a batch member, a chain node, a callback; the
 * worker role reads `jetbus-workflows` and never writes it). Any read error says "not recorded": the job then
 * goes on as it would have.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { outcomeRecorded } from "../core/recorded.ts";
import { keys } from "../protocol/names.ts";
import type { JobEnvelope } from "../protocol/schemas.ts";
import { findResult } from "../nats/result-reader.ts";
import { RecentSet } from "../workflow/recent-set.ts";
import type { StoredWorkflow } from "../workflow/store.ts";

export interface RecordedOutcomesDeps {
  results?: { jsm: JetStreamManager; bucket: KV };
  workflows?: KV;
}

const runKey = (env: JobEnvelope) => `${env.job_id}.${env.replay ?? 0}`;

/** The workflow a member, node or callback belongs to. */
function workflowOf(env: JobEnvelope): { kind: "chain" | "batch"; id: string } | null {
  if (env.callback) return { kind: env.callback.workflow, id: env.callback.workflow_id };
  if (env.chain) return { kind: "chain", id: env.chain.id };
  if (env.batch) return { kind: "batch", id: env.batch.id };
  return null;
}

export class RecordedOutcomes {
  /** runs this worker reported a terminal outcome for: a redelivery of one is a lost ack */
  private readonly reported = new RecentSet(100_000, 10 * 60_000);
  /** runs handed back once before a worker_died dead letter ({@link deferOnce}) */
  private readonly deferred = new RecentSet(100_000, 10 * 60_000);

  constructor(private readonly d: RecordedOutcomesDeps) {}

  reportedHere(env: JobEnvelope): void {
    this.reported.add(runKey(env), Date.now());
  }

  async has(env: JobEnvelope): Promise<boolean> {
    if (this.reported.has(runKey(env), Date.now())) return true;
    const ref = workflowOf(env);
    // A workflow record keeps one bit or claim per job, not per run: after a replay it still shows the first
    // run's outcome, so it cannot say whether the replayed run finished. Only this worker's own report can.
    if (ref) return (env.replay ?? 0) > 0 ? false : this.inWorkflow(env, ref);
    if (!this.d.results) return false;
    const { jsm, bucket } = this.d.results;
    const r = await findResult(jsm, bucket, env.dispatch_id).catch(() => null);
    return !!r && (r.replay ?? 0) === (env.replay ?? 0);
  }

  /**
   * True the first time a run is about to be dead-lettered as worker_died here: the delivery is handed back
   * for one settle wait first (its outcome may still be on its way to the record). False when it comes back.
   */
  deferOnce(env: JobEnvelope): boolean {
    const key = runKey(env);
    const now = Date.now();
    if (this.deferred.has(key, now)) return false;
    this.deferred.add(key, now);
    return true;
  }

  private async inWorkflow(env: JobEnvelope, ref: { kind: "chain" | "batch"; id: string }): Promise<boolean> {
    if (!this.d.workflows) return false;
    const e = await this.d.workflows.get(keys.workflow(ref.kind, ref.id)).catch(() => null);
    if (!e || e.operation !== "PUT") return false;
    try {
      return outcomeRecorded(e.json<StoredWorkflow>().state, env);
    } catch {
      return false;
    }
  }
}

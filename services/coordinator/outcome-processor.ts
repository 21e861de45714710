/**
 * @module
 * The coordinator's step, once per pulled group of outcome messages:
 * decode → record plain jobs' results (in batches, see result-writer.ts) → group workflow outcomes by workflow and apply each
 * group with ONE revision-checked write (the engine re-reads and re-applies on conflict) → publish the job
 * events derived from each outcome message (msg id from its stream sequence) → notify waiters → ack the group.
 * A crash anywhere redelivers the group; every step is idempotent per job.
 */
import type { PulledMsg } from "../../shared/nats/pulled-msg.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { applyOutcomes, failWorkflow, recordCallbackOutcome } from "../../shared/core/workflow.ts";
import { withoutUnclaimedCallbacks } from "../../shared/core/record-budget.ts";
import { callbackRefusal } from "../../shared/core/refusal.ts";
import type { MemberOutcome, Transition, WorkflowState } from "../../shared/core/types.ts";
import { toErrorBody } from "../../shared/protocol/errors.ts";
import type { EventBatcher } from "../../shared/nats/event-batcher.ts";
import type { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { OutcomeMessage } from "../../shared/protocol/outcome.ts";
import { isPlainJob, wantsDoneNotice } from "../../shared/protocol/outcome-builders.ts";
import type { JobFact } from "../../shared/protocol/event.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { decodeMessage } from "../../shared/protocol/validate.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import { deadLetterRaw, deadLetterRefused } from "../../shared/nats/dead-letter-writer.ts";
import { messageBudget } from "../../shared/protocol/budgets.ts";
import { truncateError } from "../../shared/core/truncate.ts";
import { skipInvalid } from "../../shared/telemetry/invalid-message.ts";
import type { WorkflowEngine } from "../../shared/workflow/engine.ts";
import type { WorkflowRef } from "../../shared/workflow/store.ts";
import { ResultWriter } from "./result-writer.ts";
import type { Span } from "@opentelemetry/api";
import { ATTR, MAX_LINKS } from "../../shared/telemetry/attributes.ts";
import {
  contextFromFields,
  fieldsOf,
  spanContextOf,
  traceIds,
  type TraceFields,
} from "../../shared/telemetry/carrier.ts";
import { continuesTrace, failSpan, startInternal } from "../../shared/telemetry/spans.ts";

export interface OutcomeProcessorDeps {
  nc: NatsConnection;
  publisher: JetStreamPublisher;
  engine: WorkflowEngine;
  events: EventBatcher;
  log: Logger;
  /** the results stream's `max_msg_size` (JETBUS_MAX_MESSAGE_BYTES): results batches are cut to fit it too */
  resultsMaxBytes?: number;
}

interface WorkflowGroup {
  ref: WorkflowRef;
  members: { outcome: MemberOutcome; entry: OutcomeEntry }[];
  callbacks: OutcomeEntry[];
}

/** How long a failed outcome group waits before it is delivered again. */
const RETRY_FAILED_GROUP_MS = 500;

const withoutResult = ({ result: _, ...fact }: OutcomeEntry): JobFact => fact;

const isTerminal = (o: OutcomeEntry) => o.status === "succeeded" || o.status === "failed";

export class OutcomeProcessor {
  private readonly results: ResultWriter;

  constructor(private readonly d: OutcomeProcessorDeps) {
    this.results = new ResultWriter(d.publisher, {
      maxBytes: messageBudget(d.nc.info?.max_payload, d.resultsMaxBytes),
    });
  }

  /**
   * A group that fails (a leader change, a write that timed out) goes back at once, after a short pause,
   * instead of waiting out the ack wait: each step is idempotent, so handling it again is safe.
   */
  async handleGroup(msgs: PulledMsg[]): Promise<void> {
    try {
      await this.handleGroupOnce(msgs);
    } catch (err) {
      // Acks are final: the messages already acked (undecodable ones) ignore this.
      for (const m of msgs) m.nak(RETRY_FAILED_GROUP_MS);
      throw err;
    }
  }

  private async handleGroupOnce(msgs: PulledMsg[]): Promise<void> {
    const decoded = await this.decode(msgs);
    const all = decoded.flatMap((d) => d.entries);
    const duplicates = new Set<OutcomeEntry>();
    // Callback outcomes that changed no claim: counted as duplicates (their events are left as they were).
    const staleCallbacks = new Set<OutcomeEntry>();
    const refused = new Map<OutcomeEntry, string>();
    const plain = all.filter((o) => isPlainJob(o) && isTerminal(o));
    const workflows = this.groupByWorkflow(all);

    const [recorded] = await Promise.all([
      this.results.record(plain),
      ...[...workflows.values()].map((g) => this.applyWorkflow(g, duplicates, staleCallbacks, refused)),
    ]);
    const fresh = new Set(recorded.map((r) => r.outcome));
    for (const o of plain) if (!fresh.has(o)) duplicates.add(o);
    await this.refuse(decoded, refused);

    await Promise.all(
      decoded.map(async ({ m, entries }) => {
        // Job events travel as the attempts they derive from (without results: those are kept elsewhere).
        // A redelivered message's are sent again even for duplicates: its first try may have failed before
        // them, and observers deduplicate events by id.
        const again = m.info.deliveryCount > 1;
        const jobs = entries
          .filter((o) => (again || !duplicates.has(o)) && !refused.has(o) && o.status !== "skipped")
          .map(withoutResult);
        await this.d.events.publishJobs(jobs, `ev-${m.info.stream}-${m.seq}`);
      }),
    );
    // Waiters that subscribed after the worker's notice, and before the record was stored, learn it here
    // (the SDK's also from the stored batch itself; other clients from this notice).
    for (const r of recorded)
      if (wantsDoneNotice(r.outcome))
        this.d.nc.publish(
          subjects.done(r.outcome.dispatch_id),
          `{"v":1,"kind":"job","record":${r.recordJson}}`,
        );
    const byStatus = new Map<string, number>();
    for (const o of all) {
      const status = refused.has(o)
        ? "refused"
        : duplicates.has(o) || staleCallbacks.has(o)
          ? "duplicate"
          : o.status;
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    }
    for (const [status, n] of byStatus) metrics.outcomesProcessed.inc({ status }, n);
    // The whole group succeeded: only now are its results duplicates if they come again.
    this.results.commit(recorded);
    for (const { m } of decoded) m.ack();
  }

  /** The group's messages as entries; one that cannot be decoded is dead-lettered and acked at once. */
  private async decode(msgs: PulledMsg[]): Promise<{ m: PulledMsg; entries: OutcomeEntry[] }[]> {
    const decoded: { m: PulledMsg; entries: OutcomeEntry[] }[] = [];
    for (const m of msgs) {
      try {
        const entries = decodeMessage(OutcomeMessage, m.data, "outcome message").outcomes;
        // Any worker may send a long error: every record made from it keeps a bounded copy.
        for (const e of entries) if (e.error) e.error = truncateError(e.error);
        decoded.push({ m, entries });
      } catch (err) {
        skipInvalid(this.d.log, "outcomes", "undecodable", { err: String(err), subject: m.subject });
        await deadLetterRaw(
          this.d.publisher,
          m,
          { ...toErrorBody(err), code: ErrorCodes.Malformed },
          "outcomes",
        );
        m.ack();
      }
    }
    return decoded;
  }

  /** Outcomes that can never be true: dead-lettered (reason `outcome_refused`), never counted. */
  private async refuse(
    decoded: { m: PulledMsg; entries: OutcomeEntry[] }[],
    refused: Map<OutcomeEntry, string>,
  ): Promise<void> {
    if (refused.size === 0) return;
    await Promise.all(
      decoded.flatMap(({ m, entries }) =>
        entries.flatMap((e) => {
          const reason = refused.get(e);
          if (reason === undefined) return [];
          skipInvalid(this.d.log, "outcomes", "outcome_refused", { job_id: e.job_id, detail: reason });
          return [deadLetterRefused(this.d.publisher, m, e, reason)];
        }),
      ),
    );
  }

  private groupByWorkflow(all: OutcomeEntry[]): Map<string, WorkflowGroup> {
    const groups = new Map<string, WorkflowGroup>();
    const group = (ref: WorkflowRef) => {
      const key = `${ref.kind}.${ref.id}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ref, members: [], callbacks: [] }));
      return g;
    };
    for (const o of all) {
      if (o.callback) {
        if (isTerminal(o)) group({ kind: o.callback.workflow, id: o.callback.workflow_id }).callbacks.push(o);
        continue;
      }
      const member = o.chain
        ? { kind: "chain" as const, ...o.chain }
        : o.batch
          ? { kind: "batch" as const, ...o.batch }
          : null;
      if (!member || !(isTerminal(o) || o.status === "skipped")) continue;
      const outcome: MemberOutcome = {
        jobId: o.job_id,
        index: member.index,
        status: o.status as MemberOutcome["status"],
        attempt: o.attempt,
        type: o.type,
        queue: o.queue,
      };
      if (o.error) outcome.error = o.error;
      if (o.traceparent) outcome.traceparent = o.traceparent;
      group({ kind: member.kind, id: member.id }).members.push({ outcome, entry: o });
    }
    return groups;
  }

  private async applyWorkflow(
    g: WorkflowGroup,
    duplicates: Set<OutcomeEntry>,
    staleCallbacks: Set<OutcomeEntry>,
    refused: Map<OutcomeEntry, string>,
  ): Promise<void> {
    // One span per transition, a child of the first outcome's delivery and linked to the others, so the
    // successors and callbacks it publishes continue the dispatch's trace.
    const traced = [...g.members.map((m) => m.entry), ...g.callbacks].filter((o) => o.traceparent);
    if (!continuesTrace(traced[0]?.traceparent))
      return this.applyWorkflowTraced(g, duplicates, staleCallbacks, refused, null);
    const parent = contextFromFields(traced[0] ?? {});
    const links = traced
      .slice(1, MAX_LINKS + 1)
      .map((o) => spanContextOf(o.traceparent))
      .filter((c) => c !== undefined)
      .map((c) => ({ context: c }));
    const span = startInternal(
      g.members.length === 0
        ? `record ${g.ref.kind} callback`
        : g.ref.kind === "chain"
          ? "advance chain"
          : "settle batch",
      {
        [g.ref.kind === "chain" ? ATTR.chainId : ATTR.batchId]: g.ref.id,
        [ATTR.conversationId]: g.ref.id,
        [ATTR.outcomes]: g.members.length + g.callbacks.length,
      },
      parent,
      links,
    );
    try {
      // No context.with: the coordinator runs the synchronous context manager (sync-context.ts), so the span is
      // handed on explicitly, to the write's effects and to the log lines.
      await this.applyWorkflowTraced(g, duplicates, staleCallbacks, refused, span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private async applyWorkflowTraced(
    g: WorkflowGroup,
    duplicates: Set<OutcomeEntry>,
    staleCallbacks: Set<OutcomeEntry>,
    refused: Map<OutcomeEntry, string>,
    span: Span | null,
  ): Promise<void> {
    const spanFields = span ? fieldsOf(span) : undefined;
    const log = () => (spanFields ? this.d.log.child(traceIds(spanFields.traceparent)) : this.d.log);
    let accepted = new Set<MemberOutcome>();
    let recorded = new Set<OutcomeEntry>();
    let refusedCallbacks = new Map<OutcomeEntry, string>();
    const result = await this.d.engine
      .apply(
        g.ref,
        (cur) => {
          if (!cur) return null;
          const ctx = { now: this.d.engine.now(), newId: this.d.engine.newId };
          let t: Transition<WorkflowState> = {
            next: cur,
            effects: [],
            changed: false,
            rejected: [],
            duplicates: 0,
          };
          if (g.members.length > 0) {
            t = applyOutcomes(
              cur,
              g.members.map((m) => m.outcome),
              ctx,
            );
          }
          accepted = new Set(t.accepted ?? []);
          recorded = new Set();
          refusedCallbacks = new Map();
          for (const cb of g.callbacks) {
            const reason = callbackRefusal(t.next, {
              kind: cb.callback!.kind,
              jobId: cb.job_id,
              attempt: cb.attempt,
              type: cb.type,
              queue: cb.queue,
            });
            if (reason !== null) {
              refusedCallbacks.set(cb, reason);
              continue;
            }
            const r = recordCallbackOutcome(
              t.next,
              cb.callback!.kind,
              cb.status === "succeeded" ? "succeeded" : "failed",
              ctx,
            );
            if (r.changed) t = { ...t, next: r.next, changed: true };
            // Progress calls have no claim to change; each outcome of one is new.
            if (r.changed || cb.callback!.kind === "progress") recorded.add(cb);
          }
          return t;
        },
        spanFields,
      )
      .catch(async (err: unknown) => {
        if ((err as { code?: unknown }).code !== ErrorCodes.PayloadTooLarge) throw err;
        await this.failTooLarge(g, err, refused, log, spanFields);
        return null;
      });
    if (!result) return;
    if (!result.state) {
      log().warn({ workflow: g.ref }, "outcomes for an unknown (or pruned) workflow: ignored");
      return;
    }
    metrics.workflowTransitions.inc({ kind: g.ref.kind, op: "outcomes" });
    const st = result.state;
    span?.setAttribute(
      "jetbus.workflow.state",
      st.kind === "chain"
        ? st.completed
          ? "completed"
          : st.failed
            ? "failed"
            : "running"
        : st.cancelled
          ? "cancelled"
          : st.completed
            ? "completed"
            : "running",
    );
    const refusedHere = new Map<MemberOutcome, string>();
    for (const r of result.transition?.rejected ?? [])
      if (r.refused && r.outcome) refusedHere.set(r.outcome, r.reason);
    for (const m of g.members) {
      const reason = refusedHere.get(m.outcome);
      if (reason !== undefined) refused.set(m.entry, reason);
      else if (!accepted.has(m.outcome)) duplicates.add(m.entry);
    }
    for (const [cb, reason] of refusedCallbacks) refused.set(cb, reason);
    // A redelivered callback outcome changes no claim and is not counted again.
    for (const cb of g.callbacks) {
      if (refusedCallbacks.has(cb)) continue;
      if (recorded.has(cb)) metrics.callbacks.inc({ kind: cb.callback!.kind, status: cb.status });
      else staleCallbacks.add(cb);
    }
    for (const r of result.transition?.rejected ?? []) {
      if (r.refused) continue;
      log().warn({ workflow: g.ref, reason: r.reason, job_id: r.outcome?.jobId }, "outcome rejected");
    }
  }

  /**
   * A write refused for its size is refused again on every retry: instead of nak'ing the group forever, the
   * workflow is failed (PAYLOAD_TOO_LARGE) without the callbacks it could not hold, and the group's outcomes
   * for it are dead-lettered (outcome_refused) and acked with the rest.
   */
  private async failTooLarge(
    g: WorkflowGroup,
    err: unknown,
    refused: Map<OutcomeEntry, string>,
    log: () => Logger,
    spanFields: TraceFields | undefined,
  ): Promise<void> {
    const reason = `the ${g.ref.kind}'s record outgrew its budget (${String((err as Error).message)}); the ${g.ref.kind} is failed`;
    log().error({ workflow: g.ref, err: String(err) }, "workflow record over its budget: failed");
    const error = truncateError({ code: ErrorCodes.PayloadTooLarge, message: reason, retryable: false });
    const ctx = { now: this.d.engine.now(), newId: this.d.engine.newId };
    await this.d.engine
      .apply(
        g.ref,
        (cur) => (cur ? failWorkflow(withoutUnclaimedCallbacks(cur), error, ctx) : null),
        spanFields,
      )
      .catch((e: unknown) =>
        log().error({ workflow: g.ref, err: String(e) }, "could not fail the workflow either: left as is"),
      );
    for (const m of g.members) refused.set(m.entry, reason);
    for (const cb of g.callbacks) refused.set(cb, reason);
  }
}

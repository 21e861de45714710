/**
 * @module
 * Chain and batch creation, and batch cancellation. The record is written (revision-checked) before any job of
 * the workflow is published, so nothing can finish before the workflow knows about it.
 *
 * Operation chain: writes `chain.<id>` with every node; its outbox publishes node 0 (msg id `<id>_n0`).
 * Repeating the request (same chain id) changes nothing. If node 0 cannot be stored because the queue is full,
 * the chain fails at once (catch and finally still run) and the reply is QUEUE_FULL.
 *
 * Operations batch.create / batch.append / batch.seal: create the record (optionally with the first chunk and
 * the seal), append chunks in order (offset = members so far; a repeated chunk is a no-op that republishes
 * its members, deduplicated by msg id `<id>_m<index>`), then seal with the total. Members are published after
 * the write that records them. A batch left unsealed is cancelled by the reconciler (CREATION_INTERRUPTED).
 *
 * Operation batch.cancel: cancels at once (catch and finally fire); NOT_FOUND if unknown.
 */
import type { Msg } from "@nats-io/transport-node";
import { completionOverBudget } from "../../shared/core/record-budget.ts";
import { appendMembers, cancelBatch, createBatch, sealBatch } from "../../shared/core/batch.ts";
import { createChain } from "../../shared/core/chain.ts";
import { memberJobId } from "../../shared/core/ids.ts";
import type {
  BatchState,
  CallbackSpecs,
  JobSpec,
  Transition,
  WorkflowState,
} from "../../shared/core/types.ts";
import { JetbusError, NotFoundError, toErrorBody, ValidationError } from "../../shared/protocol/errors.ts";
import { failWorkflow } from "../../shared/core/workflow.ts";
import { newId } from "../../shared/ids.ts";
import type { JobSender } from "../../shared/nats/job-sender.ts";
import { publishFailure } from "../../shared/nats/publish-failure.ts";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import {
  BatchAppendRequest,
  BatchCancelRequest,
  BatchCreateRequest,
  BatchSealRequest,
  ChainRequest,
} from "../../shared/protocol/requests.ts";
import type { JobRequest } from "../../shared/protocol/schemas.ts";
import { decodeMessage } from "../../shared/protocol/validate.ts";
import type { WorkflowEngine } from "../../shared/workflow/engine.ts";
import type { KnownTypes } from "./known-types.ts";
import { ATTR } from "../../shared/telemetry/attributes.ts";
import { contextFromFields, fieldsFromHeaders, type TraceFields } from "../../shared/telemetry/carrier.ts";
import { failSpan, handedOn, startSend } from "../../shared/telemetry/spans.ts";
import { toJobSpec, type SpecLimits } from "./job-spec.ts";

export interface WorkflowDeps {
  engine: WorkflowEngine;
  types: KnownTypes;
  sender: JobSender;
  limits: SpecLimits;
  defaultQueue: string;
}

type Callbacks = Partial<Record<keyof CallbackSpecs, JobRequest | undefined>>;

export class WorkflowHandlers {
  constructor(private readonly d: WorkflowDeps) {}

  private ctx() {
    return { now: this.d.engine.now(), newId: this.d.engine.newId };
  }

  private specs(jobs: JobRequest[], queue: string, where: string): JobSpec[] {
    return jobs.map((j, i) => toJobSpec(j, queue, this.d.limits, `${where}[${i}]`));
  }

  private callbacks(req: Callbacks, queue: string): CallbackSpecs {
    const out: CallbackSpecs = {};
    for (const kind of ["then", "catch", "finally", "progress"] as const) {
      const j = req[kind];
      if (j) out[kind] = toJobSpec(j, queue, this.d.limits, kind);
    }
    return out;
  }

  chain = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(ChainRequest, msg.data, "chain request");
    const queue = req.queue ?? this.d.defaultQueue;
    const nodes = this.specs(req.jobs, queue, "jobs");
    const callbacks = this.callbacks({ catch: req.catch, finally: req.finally }, queue);
    await this.d.types.assertKnown([...nodes, ...Object.values(callbacks)]);
    req.dispatch_id ??= newId("dsp"); // made here so the dispatch span carries it too
    return this.traced(
      "chain",
      req.chain_id,
      req.dispatch_id,
      queue,
      fieldsFromHeaders(msg.headers),
      (trace) => this.createChain(req, queue, nodes, callbacks, trace),
    );
  };

  private async createChain(
    req: ChainRequest,
    queue: string,
    nodes: JobSpec[],
    callbacks: CallbackSpecs,
    trace: TraceFields,
  ): Promise<object> {
    const ref = { kind: "chain" as const, id: req.chain_id };
    const create = this.d.engine.apply(ref, (cur) => {
      if (cur) return null;
      const t = createChain(
        {
          id: req.chain_id,
          dispatchId: req.dispatch_id ?? newId("dsp"),
          queue,
          nodes,
          callbacks,
          ...trace,
        },
        this.ctx(),
      );
      refuseIfTooLargeToFinish(t.next);
      return t;
    });
    try {
      await create;
    } catch (err) {
      const { error } = publishFailure(err);
      if (error.code !== ErrorCodes.QueueFull) throw err;
      // As the Go `bus` package does: a chain whose first node cannot be enqueued fails at once (catch and finally then
      // run once there is room), and the caller hears why.
      await this.d.engine
        .apply(ref, (cur) => (cur ? failWorkflow(cur, toErrorBody(error), this.ctx()) : null))
        .catch(() => undefined);
      throw error;
    }
    return { v: 1, ok: true, id: req.chain_id };
  }

  /**
   * The workflow's dispatch span (PRODUCER, a child of the caller's when it sent one): its context is stored in
   * the record, so nodes, members, callbacks and the coordinator's transitions all join its trace.
   */
  private async traced<T>(
    kind: "chain" | "batch",
    id: string,
    dispatchId: string,
    queue: string,
    caller: TraceFields,
    fn: (trace: TraceFields) => Promise<T>,
  ): Promise<T> {
    const span = startSend(
      kind,
      {
        [ATTR.messageId]: id,
        [ATTR.dispatchId]: dispatchId,
        [kind === "chain" ? ATTR.chainId : ATTR.batchId]: id,
        [ATTR.conversationId]: id,
        [ATTR.queue]: queue,
      },
      contextFromFields(caller),
    );
    try {
      // Handed on explicitly, not made active: the dispatcher runs the synchronous context manager
      // (sync-context.ts), under which an active span would not last past the first await.
      return await fn(handedOn(span, caller));
    } catch (err) {
      failSpan(span, err, (err as { code?: string }).code);
      throw err;
    } finally {
      span.end();
    }
  }

  batchCreate = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(BatchCreateRequest, msg.data, "batch create request");
    const queue = req.queue ?? this.d.defaultQueue;
    const callbacks = this.callbacks(req, queue);
    const members = this.specs(req.jobs ?? [], queue, "jobs");
    if (req.seal && members.length === 0) throw new ValidationError("a batch needs at least one job");
    await this.d.types.assertKnown([...members, ...Object.values(callbacks)]);
    req.dispatch_id ??= newId("dsp"); // made here so the dispatch span carries it too
    return this.traced(
      "batch",
      req.batch_id,
      req.dispatch_id,
      queue,
      fieldsFromHeaders(msg.headers),
      (trace) => this.createBatch(req, queue, callbacks, members, trace),
    );
  };

  private async createBatch(
    req: BatchCreateRequest,
    queue: string,
    callbacks: CallbackSpecs,
    members: JobSpec[],
    trace: TraceFields,
  ): Promise<object> {
    const ctx = this.ctx();
    const result = await this.d.engine.apply({ kind: "batch", id: req.batch_id }, (cur) => {
      const start: Transition<BatchState> = cur
        ? noChange(asBatch(cur))
        : createBatch(
            {
              id: req.batch_id,
              dispatchId: req.dispatch_id ?? newId("dsp"),
              name: req.name ?? "",
              queue,
              allowFailures: req.allow_failures ?? false,
              callbacks,
              ...trace,
            },
            ctx,
          );
      return this.fill(start, 0, members, req.seal ?? false);
    });
    const state = asBatch(result.state!);
    await this.publishMembers(state, 0, members, result.transition, trace);
    return { v: 1, ok: true, id: req.batch_id, appended: state.total };
  }

  batchAppend = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(BatchAppendRequest, msg.data, "batch append request");
    const trace = fieldsFromHeaders(msg.headers);
    const existing = await this.d.engine.read({ kind: "batch", id: req.batch_id });
    if (!existing) throw new NotFoundError(`batch ${req.batch_id}`);
    const members = this.specs(req.jobs, existing.queue, "jobs");
    await this.d.types.assertKnown(members);
    const result = await this.d.engine.apply({ kind: "batch", id: req.batch_id }, (cur) => {
      if (!cur) throw new NotFoundError(`batch ${req.batch_id}`);
      return this.fill(noChange(asBatch(cur)), req.offset, members, req.seal ?? false);
    });
    const state = asBatch(result.state!);
    await this.publishMembers(state, req.offset, members, result.transition, trace);
    return { v: 1, ok: true, id: req.batch_id, appended: state.total };
  };

  batchSeal = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(BatchSealRequest, msg.data, "batch seal request");
    const result = await this.d.engine.apply({ kind: "batch", id: req.batch_id }, (cur) => {
      if (!cur) throw new NotFoundError(`batch ${req.batch_id}`);
      const t = sealBatch(asBatch(cur), req.total, this.ctx());
      rejectIfAny(t);
      return t;
    });
    return { v: 1, ok: true, id: req.batch_id, appended: asBatch(result.state!).total };
  };

  batchCancel = async (msg: Msg): Promise<object> => {
    const req = decodeMessage(BatchCancelRequest, msg.data, "batch cancel request");
    await this.d.engine.apply({ kind: "batch", id: req.batch_id }, (cur) => {
      if (!cur) throw new NotFoundError(`batch ${req.batch_id}`);
      const error = {
        code: ErrorCodes.Cancelled,
        message: req.reason ?? "batch cancelled",
        retryable: false,
      };
      return cancelBatch(asBatch(cur), error, this.ctx(), { failed: false });
    });
    return { v: 1, ok: true, id: req.batch_id };
  };

  /** Append (and maybe seal) on top of a starting transition, as one write. */
  private fill(
    start: Transition<BatchState>,
    offset: number,
    members: JobSpec[],
    seal: boolean,
  ): Transition<BatchState> & { skipPublish?: boolean } {
    let t: Transition<BatchState> & { skipPublish?: boolean } = start;
    if (members.length > 0) {
      const a = appendMembers(t.next, offset, members, this.ctx());
      if (a.rejected.length > 0 && !t.next.sealed && offset > t.next.total) {
        // A gap: an earlier chunk is not recorded. Say where the record stands, so the client resumes there
        // (its members are published again under their job ids: the ones already stored are deduplicated).
        const reason = a.rejected.map((r) => r.reason).join("; ");
        throw new ValidationError(reason, { errors: [reason], recorded: t.next.total });
      }
      rejectIfAny(a);
      t = merge(t, a);
      t.skipPublish = a.skipPublish;
    }
    if (seal) {
      const s = sealBatch(t.next, offset + members.length, this.ctx());
      rejectIfAny(s);
      t = { ...merge(t, s), skipPublish: t.skipPublish };
    }
    if (t.changed) refuseIfTooLargeToFinish(t.next);
    return t;
  }

  private async publishMembers(
    state: BatchState,
    offset: number,
    members: JobSpec[],
    t: Transition<WorkflowState> | null,
    trace: TraceFields,
  ): Promise<void> {
    if (members.length === 0 || (t as { skipPublish?: boolean } | null)?.skipPublish) return;
    const tc = { ...trace, ...(state.traceparent ? { traceparent: state.traceparent } : {}) };
    try {
      await Promise.all(
        members.map((spec, i) => {
          const index = offset + i;
          const jobId = memberJobId(state.id, index);
          return this.d.sender.sendItem(
            { jobId, dispatchId: state.dispatchId, spec, batch: { id: state.id, index }, ...tc },
            jobId,
          );
        }),
      );
    } catch (err) {
      // The chunk is recorded; the client retries it (same offset) and only the missing members are stored.
      throw publishFailure(err).error;
    }
  }
}

/** A workflow whose finishing write could not be stored would never finish: refused before anything is kept. */
function refuseIfTooLargeToFinish(s: WorkflowState): void {
  const over = completionOverBudget(s);
  if (over)
    throw new JetbusError(ErrorCodes.PayloadTooLarge, over.reason, {
      details: { size: over.size, limit: over.limit },
    });
}

function asBatch(s: WorkflowState): BatchState {
  if (s.kind !== "batch") throw new JetbusError(ErrorCodes.Validation, `${s.id} is a chain, not a batch`);
  return s;
}

function noChange<S>(s: S): Transition<S> {
  return { next: s, effects: [], changed: false, rejected: [], duplicates: 0 };
}

function merge<S>(a: Transition<S>, b: Transition<S>): Transition<S> {
  return {
    next: b.next,
    effects: [...a.effects, ...b.effects],
    changed: a.changed || b.changed,
    rejected: [...a.rejected, ...b.rejected],
    duplicates: a.duplicates + b.duplicates,
  };
}

function rejectIfAny(t: Transition<unknown>): void {
  if (t.rejected.length > 0) throw new ValidationError(t.rejected.map((r) => r.reason).join("; "));
}

/**
 * @module
 * The coordinator's background duties, every replica running them (each action is revision-checked, so
 * replicas never double-act): perform outbox entries a crash left behind, fail workflows that would otherwise
 * hang (interrupted creation, no live worker past the deadline, lost member), prune old finished workflows,
 * and refresh the queue and workflow gauges. (uniqueFor claims, locks and rate-limit windows expire by server
 * TTL; nothing here sweeps them.)
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { decideReconcile } from "../../shared/core/reconcile.ts";
import { isTerminal } from "../../shared/core/views.ts";
import { failWorkflow, pendingTypes } from "../../shared/core/workflow.ts";
import type { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { queueOverview, type LiveWorkers } from "../../shared/nats/queue-overview.ts";
import { CONSUMERS, STREAMS } from "../../shared/protocol/names.ts";
import { pruneWorkflows } from "../../shared/workflow/prune.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";
import type { WorkflowEngine } from "../../shared/workflow/engine.ts";
import type { WorkflowRef } from "../../shared/workflow/store.ts";
import type { CoordinatorConfig } from "./config.ts";
import type { OrphanSweeper } from "./orphans.ts";

export interface ReconcilerDeps {
  orphans: OrphanSweeper;
  engine: WorkflowEngine;
  store: KvWorkflowStore;
  jsm: JetStreamManager;
  /** the live workers (a watched view of the registry) */
  workers: LiveWorkers;
  config: CoordinatorConfig;
  log: Logger;
}

const pairKey = (queue: string, type: string) => `${queue}\u0000${type}`;

export class Reconciler {
  private readonly noWorkerSince = new Map<string, number>();
  private readonly goneSince = new Map<string, number>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
      let busy = false;
      const t = setInterval(() => {
        // A slow pass must not queue up more passes behind it: skip ticks while one runs.
        if (busy) return;
        busy = true;
        const run = fn()
          .catch((err: unknown) => this.d.log.warn({ err: String(err) }, `${what} failed`))
          .finally(() => {
            busy = false;
          });
        this.inFlight.add(run);
        void run.finally(() => this.inFlight.delete(run));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    const c = this.d.config;
    every(c.reconcileIntervalMs, "reconcile", () => this.reconcileOnce());
    every(c.pruneIntervalMs, "prune", () => this.prune());
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.inFlight);
  }

  async prune(): Promise<number> {
    const n = await pruneWorkflows(this.d.store, Date.now() - this.d.config.workflowRetentionMs);
    if (n > 0) {
      metrics.reconciled.inc({ action: "pruned" }, n);
      this.d.log.info({ pruned: n }, "pruned finished workflows");
    }
    return n;
  }

  /** One pass over the active workflows. Returns what it did, for tests and logs. */
  async reconcileOnce(): Promise<{ flushed: number; failed: number; active: number }> {
    const now = Date.now();
    const rows = await queueOverview(this.d.jsm, this.d.workers, now);
    const served = new Set(rows.filter((r) => r.workers > 0).map((r) => pairKey(r.queue, r.type)));
    this.updateGauges(rows);
    await this.d.orphans
      .sweep(rows, now)
      .catch((err: unknown) =>
        this.d.log.warn({ err: String(err) }, "could not dead-letter jobs of unknown types"),
      );
    const outcomes = await this.d.jsm.consumers
      .info(STREAMS.outcomes, CONSUMERS.coordinator)
      .catch(() => null);
    const outcomesIdle = !!outcomes && outcomes.num_pending + outcomes.num_ack_pending === 0;
    const stored = new Map(rows.map((r) => [pairKey(r.queue, r.type), r.ready + r.delayed + r.inFlight]));

    let flushed = 0;
    let failed = 0;
    const active = { chain: 0, batch: 0 };
    for await (const ref of this.d.store.listActive()) {
      // One workflow that cannot be handled (its outbox cannot be published yet) must not stop the pass.
      try {
        const r = await this.reconcileWorkflow(ref, now, served, outcomesIdle, stored);
        flushed += r.flushed;
        if (r.failed) failed++;
        if (r.active) active[r.active]++;
      } catch (err) {
        this.d.log.warn(
          { workflow: ref, err: String(err) },
          "could not reconcile workflow; next pass retries",
        );
      }
    }
    metrics.activeWorkflows.set({ kind: "chain" }, active.chain);
    metrics.activeWorkflows.set({ kind: "batch" }, active.batch);
    if (flushed > 0) metrics.reconciled.inc({ action: "outbox_flushed" }, flushed);
    return { flushed, failed, active: active.chain + active.batch };
  }

  private async reconcileWorkflow(
    ref: WorkflowRef,
    now: number,
    served: Set<string>,
    outcomesIdle: boolean,
    stored: Map<string, number>,
  ): Promise<{ flushed: number; failed: boolean; active: "chain" | "batch" | null }> {
    // A job whose (queue, type) has nothing stored and no outcome in flight cannot have a copy around.
    const flushed = await this.d.engine.flushOutbox(
      ref,
      this.d.config.outboxStaleMs,
      (e) =>
        e.type !== "publish" ||
        !outcomesIdle ||
        (stored.get(pairKey(e.item.spec.queue, e.item.spec.type)) ?? 0) > 0,
    );
    const state = await this.d.engine.read(ref);
    if (!state || isTerminal(state)) return { flushed, failed: false, active: null };
    for (const { queue, type } of pendingTypes(state)) {
      const k = pairKey(queue, type);
      if (served.has(k)) this.noWorkerSince.delete(k);
      else if (!this.noWorkerSince.has(k)) this.noWorkerSince.set(k, now);
      if (!outcomesIdle || (stored.get(k) ?? 0) > 0) this.goneSince.delete(k);
      else if (!this.goneSince.has(k)) this.goneSince.set(k, now);
    }
    const decision = decideReconcile(state, {
      now,
      creationTimeoutMs: this.d.config.creationTimeoutMs,
      noWorkerDeadlineMs: this.d.config.noWorkerDeadlineMs,
      lostConfirmMs: this.d.config.lostConfirmMs,
      noWorkerSince: (q, t) => this.noWorkerSince.get(pairKey(q, t)),
      messagesGoneSince: (q, t) => this.goneSince.get(pairKey(q, t)),
    });
    if (decision.action !== "fail") return { flushed, failed: false, active: state.kind };
    const r = await this.d.engine.apply(ref, (cur) =>
      cur
        ? failWorkflow(cur, decision.error, { now: this.d.engine.now(), newId: this.d.engine.newId })
        : null,
    );
    if (!r.transition?.changed) return { flushed, failed: false, active: state.kind };
    metrics.reconciled.inc({ action: decision.error.code.toLowerCase() });
    this.d.log.warn(
      { workflow: ref, code: decision.error.code, reason: decision.error.message },
      "workflow failed by the reconciler",
    );
    return { flushed, failed: true, active: null };
  }

  private updateGauges(rows: Awaited<ReturnType<typeof queueOverview>>): void {
    metrics.consumerLag.reset();
    metrics.pendingWithoutWorker.reset();
    let orphaned = 0;
    for (const r of rows) {
      const waiting = r.ready + r.delayed + r.inFlight;
      metrics.consumerLag.set({ queue: r.queue, type: r.type }, r.ready + r.inFlight);
      if (waiting > 0 && r.workers === 0) {
        orphaned++;
        metrics.pendingWithoutWorker.set({ queue: r.queue, type: r.type }, waiting);
      }
    }
    metrics.typesWithoutWorker.set(orphaned);
  }
}

/**
 * @module
 * The shell around the pure core: read a workflow with its revision, apply a transition, write it back at
 * that revision (on conflict: re-read and re-apply; safe because the core is pure), then perform the effects.
 * Effects are written into the record's outbox in the same write, so a crash between the write and the
 * publish loses nothing: whoever touches the record next (or the reconciler) performs them again with the same
 * message ids, and JetStream's dedupe window makes that exactly-once.
 */
import { isEffectLive, mayRepeatOldEffect } from "../core/outbox.ts";
import { isTerminal } from "../core/views.ts";
import type { Effect, Transition, WorkflowState } from "../core/types.ts";
import { RecentSet } from "./recent-set.ts";
import type { TraceFields } from "../telemetry/carrier.ts";
import {
  refKey,
  RevisionConflictError,
  type OutboxEntry,
  type StoredWorkflow,
  type Versioned,
  type WorkflowRef,
  type WorkflowStore,
} from "./store.ts";

/**
 * `trace`: the trace context of the transition that decided the effects (its span, when it has one), passed
 * along explicitly: a service may run without an asynchronous context manager.
 */
export interface EffectSink {
  perform(effects: readonly Effect[], state: WorkflowState, trace?: TraceFields): Promise<void>;
}

export interface EngineOptions {
  now?: () => number;
  newId?: () => string;
  /**
   * Outbox entries younger than this are republished when found unperformed; older ones are trusted to have
   * been handled by the reconciler. Keep it well inside the JetStream duplicate window.
   */
  republishHorizonMs?: number;
  /** JetStream's duplicate window: entries older than this may no longer be deduplicated by msg id. */
  dedupeWindowMs?: number;
  cacheSize?: number;
  onConflict?: () => void;
  /** after a state write, before its effects are performed (fault injection, metrics) */
  onWritten?: (state: WorkflowState, outbox: readonly OutboxEntry[]) => void;
  /** after effects were performed */
  onPerformed?: (state: WorkflowState, effects: readonly Effect[]) => void;
}

export type TransitionFn = (current: WorkflowState | null) => Transition<WorkflowState> | null;

export interface ApplyResult {
  state: WorkflowState | null;
  transition: Transition<WorkflowState> | null;
  revision: number | null;
}

export function effectKey(e: Effect): string {
  switch (e.type) {
    case "publish":
      return `pub:${e.msgId}`;
    case "event":
      return `evt:${e.event.id}`;
    case "cancel":
      return `cancel:${e.batchId}`;
    case "done":
      return `done:${e.id}`;
  }
}

export class WorkflowEngine {
  readonly now: () => number;
  readonly newId: () => string;
  private readonly horizon: number;
  private readonly performed: RecentSet;
  private readonly cache = new Map<string, Versioned<StoredWorkflow>>();
  private readonly cacheSize: number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: WorkflowStore,
    private readonly sink: EffectSink,
    private readonly opts: EngineOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? (() => Math.random().toString(16).slice(2, 18));
    this.horizon = opts.republishHorizonMs ?? 60_000;
    this.performed = new RecentSet(100_000, this.horizon);
    this.cacheSize = opts.cacheSize ?? 1_000;
  }

  async read(ref: WorkflowRef): Promise<WorkflowState | null> {
    return (await this.store.read(ref))?.value.state ?? null;
  }

  /**
   * Serialises applies to one workflow within this process; other processes are handled by revisions.
   * `trace`: the deciding transition's trace context, for the spans of what it publishes.
   */
  apply(ref: WorkflowRef, fn: TransitionFn, trace?: TraceFields): Promise<ApplyResult> {
    const key = refKey(ref);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(
      () => this.applyUnlocked(ref, fn, trace),
      () => this.applyUnlocked(ref, fn, trace),
    );
    this.locks.set(key, run);
    void run
      .finally(() => {
        if (this.locks.get(key) === run) this.locks.delete(key);
      })
      .catch(() => undefined);
    return run;
  }

  private async applyUnlocked(ref: WorkflowRef, fn: TransitionFn, trace?: TraceFields): Promise<ApplyResult> {
    const key = refKey(ref);
    for (let attempt = 0; ; attempt++) {
      const cached = this.cache.get(key);
      const cur = cached ?? (await this.store.read(ref));
      const now = this.now();
      const unperformed = (cur?.value.outbox ?? []).filter(
        (e) => !this.performed.has(effectKey(e.effect), now),
      );
      // Fresh entries are republished now (deduplicated by id); stale ones are left for the reconciler, which
      // decides about entries that may have outlived the dedupe window.
      const pending = unperformed.filter((e) => now - e.at < this.horizon);
      const stale = unperformed.filter((e) => now - e.at >= this.horizon);
      // The cache may be stale (another replica wrote since): a refusal (a throw) or "nothing to do" (a
      // duplicate, an outcome or chunk ahead of the cached state) is decided on a fresh read only.
      let t: ReturnType<TransitionFn>;
      try {
        t = fn(cur?.value.state ?? null);
      } catch (err) {
        if (!cached) throw err;
        this.cache.delete(key);
        continue;
      }
      if (!t || (!t.changed && pending.length === 0)) {
        if (cached && t) {
          this.cache.delete(key);
          continue;
        }
        return { state: cur?.value.state ?? null, transition: t, revision: cur?.revision ?? null };
      }
      const state = t.changed ? t.next : cur!.value.state;
      // Effects overtaken by this transition (a node of a chain that has failed since) are dropped, not performed.
      const live = (e: OutboxEntry) => isEffectLive(e.effect, state);
      const fresh: OutboxEntry[] = [
        ...pending.filter(live),
        ...(t.changed ? t.effects.map((effect) => ({ effect, at: now })) : []),
      ];
      const outbox = [...stale.filter(live), ...fresh];
      let revision: number;
      try {
        if (!cur) await this.store.setActive(ref, true);
        revision = await this.store.write(ref, { state, outbox }, cur?.revision ?? null);
      } catch (err) {
        this.cache.delete(key);
        if (err instanceof RevisionConflictError && attempt < 100) {
          this.opts.onConflict?.();
          continue;
        }
        throw err;
      }
      this.opts.onWritten?.(state, outbox);
      await this.perform(fresh, state, trace);
      // Terminal records get no further transitions to carry their outbox away: clear it now (best effort;
      // the reconciler clears what this misses). Running records clear theirs lazily on the next write.
      if (fresh.length > 0 && (isTerminal(state) || !t.changed)) {
        revision = (await this.clear(ref, state, revision, stale.filter(live))) ?? revision;
      } else {
        this.remember(key, { value: { state, outbox }, revision });
      }
      return { state, transition: t, revision };
    }
  }

  private async perform(outbox: OutboxEntry[], state: WorkflowState, trace?: TraceFields): Promise<void> {
    if (outbox.length === 0) return;
    await this.sink.perform(
      outbox.map((e) => e.effect),
      state,
      trace,
    );
    const now = this.now();
    for (const e of outbox) this.performed.add(effectKey(e.effect), now);
    this.opts.onPerformed?.(
      state,
      outbox.map((e) => e.effect),
    );
  }

  private async clear(
    ref: WorkflowRef,
    state: WorkflowState,
    revision: number,
    keep: OutboxEntry[] = [],
  ): Promise<number | null> {
    const key = refKey(ref);
    try {
      const rev = await this.store.write(ref, { state, outbox: keep }, revision);
      this.remember(key, { value: { state, outbox: keep }, revision: rev });
      if (isTerminal(state) && keep.length === 0) await this.store.setActive(ref, false);
      return rev;
    } catch (err) {
      this.cache.delete(key);
      if (err instanceof RevisionConflictError) return null;
      throw err;
    }
  }

  /**
   * Reconciler step: performs outbox entries older than `olderThanMs` that nobody performed (a crash between
   * write and publish), then clears the outbox. Entries older than the dedupe window could be stored twice, so
   * a job is published again only when it is still wanted and `copyMayExist` says no copy of it can be around.
   * Returns how many effects it performed.
   */
  async flushOutbox(
    ref: WorkflowRef,
    olderThanMs: number,
    copyMayExist: (effect: Effect) => boolean = () => true,
  ): Promise<number> {
    const cur = await this.store.read(ref);
    if (!cur) {
      await this.store.setActive(ref, false);
      return 0;
    }
    const now = this.now();
    const { state, outbox } = cur.value;
    if (outbox.length === 0) {
      if (isTerminal(state)) await this.store.setActive(ref, false);
      return 0;
    }
    if (outbox.every((e) => now - e.at < olderThanMs)) return 0;
    const window = this.opts.dedupeWindowMs ?? this.horizon * 2;
    const toPerform = outbox.filter((e) => {
      if (this.performed.has(effectKey(e.effect), now) || !isEffectLive(e.effect, state)) return false;
      return now - e.at < window || mayRepeatOldEffect(e.effect, state, copyMayExist(e.effect));
    });
    await this.perform(toPerform, state);
    await this.clear(ref, state, cur.revision);
    return toPerform.length;
  }

  private remember(key: string, v: Versioned<StoredWorkflow>): void {
    this.cache.delete(key);
    this.cache.set(key, v);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  forget(ref: WorkflowRef): void {
    this.cache.delete(refKey(ref));
  }
}

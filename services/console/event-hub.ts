/**
 * @module
 * One subscription to the events stream (`bus.observe`, new events only) fanned out to the open pages over
 * SSE. A page watching a batch or chain gets that workflow's events, the latest counts coalesced to at most
 * one message per `flushMs`; every page gets a `queues` tick (at most one per `tickMs`) when jobs moved, and
 * re-reads the queue counts then, instead of polling. A slow page never holds the others up: its messages
 * are dropped past a small buffer, and the next one carries the latest state anyway.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BusEvent, Bus, Subscription } from "../../shared/sdk/types.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";

export interface PageEvent {
  event: "workflow" | "queues";
  data: Record<string, unknown>;
}

export interface Watcher {
  /** the workflow this page shows, if any */
  workflowId?: string;
  send(e: PageEvent): void;
}

export interface EventHub {
  add(w: Watcher): () => void;
  /** runs before each `queues` tick is sent, so readings cached before it are not served after it */
  onQueuesTick(fn: () => void): void;
  readonly size: number;
  stop(): Promise<void>;
}

interface Pending {
  latest: Record<string, unknown> | null;
  timer: NodeJS.Timeout | null;
}

const COUNT_KEYS = ["total", "pending", "processed", "failed"] as const;

/**
 * The four counts and nothing else: anyone may publish events, and the page merges these into its batch
 * view, so an extra key (`state`, `callbacks`) must not ride along. The schema keeps accepting extra keys
 * (refusing them would break v1 readers of a later writer); the console copies what it shows.
 */
export function pageCounts(counts: unknown): Record<(typeof COUNT_KEYS)[number], number> | null {
  if (typeof counts !== "object" || counts === null) return null;
  const c = counts as Record<string, unknown>;
  if (!COUNT_KEYS.every((k) => Number.isSafeInteger(c[k]) && (c[k] as number) >= 0)) return null;
  return Object.fromEntries(COUNT_KEYS.map((k) => [k, c[k]])) as Record<(typeof COUNT_KEYS)[number], number>;
}

/** What a page needs of a workflow event: small, no payloads, only the fields it shows. */
export function workflowData(e: BusEvent): Record<string, unknown> {
  const counts = pageCounts(e.counts);
  return {
    kind: e.kind,
    id: e.batchId ?? e.chainId,
    at: e.at.getTime(),
    ...(counts ? { counts } : {}),
    ...(e.error
      ? { error: { code: String(e.error.code).slice(0, 100), message: e.error.message.slice(0, 500) } }
      : {}),
    ...(e.callback ? { callback: String(e.callback).slice(0, 100) } : {}),
  };
}

export function startEventHub(
  bus: Bus,
  log: Logger,
  opts: { flushMs?: number; tickMs?: number } = {},
): {
  hub: EventHub;
  ready: Promise<void>;
} {
  const flushMs = opts.flushMs ?? 200;
  const tickMs = opts.tickMs ?? 1_000;
  const watchers = new Set<Watcher>();
  const pending = new Map<string, Pending>();
  let tick: NodeJS.Timeout | null = null;
  const tickListeners: (() => void)[] = [];

  const flush = (id: string) => {
    const p = pending.get(id);
    if (!p) return;
    p.timer = null;
    const data = p.latest;
    p.latest = null;
    if (!data) {
      pending.delete(id);
      return;
    }
    for (const w of watchers) if (w.workflowId === id) w.send({ event: "workflow", data });
    p.timer = setTimeout(() => flush(id), flushMs);
  };

  const onEvent = (e: BusEvent) => {
    const id = e.batchId ?? e.chainId;
    if (
      id &&
      (e.kind.startsWith("batch_") || e.kind.startsWith("chain_") || e.kind.startsWith("callback_"))
    ) {
      let p = pending.get(id);
      if (!p) pending.set(id, (p = { latest: null, timer: null }));
      p.latest = workflowData(e);
      if (!p.timer) flush(id);
    }
    if (e.kind.startsWith("job_") || e.kind === "dispatch_started") {
      tick ??= setTimeout(() => {
        tick = null;
        for (const fn of tickListeners) fn();
        for (const w of watchers) w.send({ event: "queues", data: { at: Date.now() } });
      }, tickMs);
    }
  };

  // The console provisions nothing and may start before the services that make the events stream (`npm start`
  // starts all four at once, and so may a cluster): until it exists, ask again, and be ready only then.
  let sub: Subscription | null = null;
  const stopping = new AbortController();
  const ready = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; attempt++) {
      const s = bus.observe(onEvent);
      try {
        await s.ready;
        sub = s;
        return;
      } catch (err) {
        await s.stop().catch(() => undefined);
        if (stopping.signal.aborted) return;
        log.warn({ err: String(err), attempt }, "cannot follow the events stream yet: trying again");
        await sleep(Math.min(250 * 2 ** attempt, 5_000), undefined, { signal: stopping.signal }).catch(
          () => undefined,
        );
      }
    }
  })();
  return {
    ready,
    hub: {
      add(w) {
        watchers.add(w);
        return () => watchers.delete(w);
      },
      onQueuesTick(fn) {
        tickListeners.push(fn);
      },
      get size() {
        return watchers.size;
      },
      async stop() {
        for (const p of pending.values()) if (p.timer) clearTimeout(p.timer);
        if (tick) clearTimeout(tick);
        watchers.clear();
        stopping.abort();
        await ready;
        await sub?.stop();
      },
    },
  };
}

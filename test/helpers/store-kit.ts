/**
 * @module
 * Shared pieces for the workflow-store tests: the two store implementations behind one factory (a
 * `MemoryStore`, or a `KvWorkflowStore` on a fresh bucket of a real nats-server), workflow states built with the pure
 * core, and an effect sink that records what it performed (and can fail on purpose).
 */
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { appendMembers, createBatch, createChain, sealBatch } from "../../shared/core/index.ts";
import type { BatchState, ChainState, Effect, WorkflowState } from "../../shared/core/index.ts";
import { KvWorkflowStore } from "../../shared/nats/kv-workflow-store.ts";
import { effectKey, type EffectSink } from "../../shared/workflow/engine.ts";
import { MemoryStore } from "../../shared/workflow/memory-store.ts";
import type { WorkflowStore } from "../../shared/workflow/store.ts";

export interface StoreFactory {
  name: string;
  /** a new, empty store */
  make(): Promise<WorkflowStore>;
}

export const memoryFactory: StoreFactory = { name: "MemoryStore", make: async () => new MemoryStore() };

let buckets = 0;
/** Each call opens a fresh bucket (same settings as jetbus-workflows: history 1, no TTL). */
export function kvFactory(nc: () => NatsConnection): StoreFactory {
  return {
    name: "KvWorkflowStore",
    async make() {
      const kv = await new Kvm(nc()).create(`test-workflows-${process.pid}-${++buckets}`, { history: 1 });
      return new KvWorkflowStore(kv);
    },
  };
}

const ctx = (now = 1_000) => ({ now, newId: () => "unused" });

export function chainState(id: string, types = ["a", "b", "c"]): ChainState {
  return createChain(
    {
      id,
      dispatchId: `dsp-${id}`,
      queue: "default",
      nodes: types.map((type) => ({ type, queue: "default", payload: null, options: {} })),
      callbacks: { finally: { type: "fin", queue: "default", payload: null, options: {} } },
    },
    ctx(),
  ).next;
}

/** A sealed batch of `size` members with then / catch / finally callbacks. */
export function batchState(id: string, size: number, allowFailures = false): BatchState {
  const cb = (type: string) => ({ type, queue: "default", payload: null, options: {} });
  const created = createBatch(
    {
      id,
      dispatchId: `dsp-${id}`,
      name: "",
      queue: "default",
      allowFailures,
      callbacks: { then: cb("then"), catch: cb("catch"), finally: cb("finally") },
    },
    ctx(),
  ).next;
  const members = Array.from({ length: size }, () => ({ queue: "default", type: "m" }));
  const appended = appendMembers(created, 0, members, ctx()).next;
  return sealBatch(appended, size, ctx()).next;
}

/** Records every effect performed, in order; `failNext` makes the next perform throw (a crash after the write). */
export class RecordingSink implements EffectSink {
  readonly performed: Effect[] = [];
  failNext = 0;

  async perform(effects: readonly Effect[], _state: WorkflowState): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("simulated crash between the write and the publish");
    }
    this.performed.push(...effects);
  }

  keys(): string[] {
    return this.performed.map(effectKey);
  }

  /** job ids of published callback jobs (then / catch / finally / progress) */
  callbackPublishes(kind?: string): string[] {
    return this.performed.flatMap((e) =>
      e.type === "publish" && e.item.callback && (!kind || e.item.callback.kind === kind) ? [e.msgId] : [],
    );
  }

  eventKinds(kind: string): string[] {
    return this.performed.flatMap((e) => (e.type === "event" && e.event.kind === kind ? [e.event.id] : []));
  }
}

/** Counts per id: what a deduplicating broker would keep is the set of distinct ids. */
export function tally(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

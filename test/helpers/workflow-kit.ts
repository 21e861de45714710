/**
 * @module
 * Helpers for the chain and batch tests on a real mesh: the raw stored workflow record
 * (state + callback claims + outbox), and "settled" barriers: a job consumer with nothing pending or in
 * flight, a workflow whose outbox is empty. "Ran once" is asserted after such a barrier, never after a sleep.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { WorkflowState } from "../../shared/core/types.ts";
import type { BatchInfo, Bus, BusEvent, ChainInfo } from "../../shared/index.ts";
import { BUCKETS, CONSUMERS, jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import type { NatsBus } from "../../shared/sdk/nats-bus.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import type { StoredWorkflow } from "../../shared/workflow/store.ts";

export function ncOf(bus: Bus): NatsConnection {
  return (bus as NatsBus).nc;
}

/** The stored record behind findChain/findBatch, with what the views leave out (claims, outbox). */
export async function rawWorkflow(
  nc: NatsConnection,
  kind: "chain" | "batch",
  id: string,
): Promise<StoredWorkflow | null> {
  const kv = await new Kvm(nc).open(BUCKETS.workflows);
  const e = await kv.get(`${kind}.${id}`);
  return e && e.operation === "PUT" ? e.json<StoredWorkflow>() : null;
}

export async function rawState(
  nc: NatsConnection,
  kind: "chain" | "batch",
  id: string,
): Promise<WorkflowState> {
  const r = await rawWorkflow(nc, kind, id);
  if (!r) throw new Error(`${kind} ${id} has no record`);
  return r.state;
}

/** Which of then / catch / finally were claimed (= published, exactly once) for the workflow. */
export async function claimed(nc: NatsConnection, kind: "chain" | "batch", id: string): Promise<string[]> {
  const s = await rawState(nc, kind, id);
  return Object.keys(s.claims).sort();
}

/** Waits until the (queue, type) job consumer has nothing pending and nothing in flight. */
export async function queueSettled(nc: NatsConnection, type: string, queue = "default", timeoutMs = 15_000) {
  const jsm = await jetstreamManager(nc);
  await waitFor(
    `job consumer ${queue}/${type} to be settled`,
    async () => {
      const ci = await jsm.consumers.info(STREAMS.jobs, jobConsumerName(queue, type));
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { timeoutMs },
  );
}

/** Waits until every stored outcome has been handled by a coordinator. */
export async function outcomesSettled(nc: NatsConnection, timeoutMs = 20_000): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await waitFor(
    "the coordinator to handle every outcome",
    async () => {
      const ci = await jsm.consumers.info(STREAMS.outcomes, CONSUMERS.coordinator);
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { timeoutMs },
  );
}

/** Waits until the workflow is terminal with an empty outbox: everything it will ever publish is published. */
export async function workflowSettled(
  nc: NatsConnection,
  kind: "chain" | "batch",
  id: string,
  timeoutMs = 20_000,
): Promise<WorkflowState> {
  return waitFor(
    `${kind} ${id} to end with an empty outbox`,
    async () => {
      const r = await rawWorkflow(nc, kind, id);
      if (!r || r.outbox.length > 0) return null;
      const s = r.state;
      const done = s.kind === "chain" ? s.completed || s.failed : s.completed;
      return done ? s : null;
    },
    { timeoutMs },
  );
}

export async function waitBatch(
  bus: Bus,
  id: string,
  until: (b: BatchInfo) => boolean,
  timeoutMs = 15_000,
): Promise<BatchInfo> {
  let last: BatchInfo | undefined;
  try {
    return await waitFor(
      `batch ${id} to reach the expected state`,
      async () => {
        last = await bus.findBatch(id);
        return until(last) ? last : null;
      },
      { timeoutMs },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export async function waitChain(
  bus: Bus,
  id: string,
  until: (c: ChainInfo) => boolean,
  timeoutMs = 15_000,
): Promise<ChainInfo> {
  let last: ChainInfo | undefined;
  try {
    return await waitFor(
      `chain ${id} to reach the expected state`,
      async () => {
        last = await bus.findChain(id);
        return until(last) ? last : null;
      },
      { timeoutMs },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** Collects every event from now on (observe), so a test can count kinds per workflow. */
export async function collectEvents(bus: Bus): Promise<{ events: BusEvent[]; stop: () => Promise<void> }> {
  const events: BusEvent[] = [];
  const sub = bus.observe((e) => {
    events.push(e);
  });
  await sub.ready;
  return { events, stop: () => sub.stop() };
}

export function kindsFor(events: readonly BusEvent[], id: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) if (e.chainId === id || e.batchId === id) m.set(e.kind, (m.get(e.kind) ?? 0) + 1);
  return m;
}

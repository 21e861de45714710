/**
 * @module
 * Shared fixtures for the pure-core tests: `describe`/`it`, a fixed transition context, job specs and errors,
 * and effect filters and tallies. The stateful harnesses are in `harness.ts`.
 */
import assert from "node:assert/strict";
import { describe as nodeDescribe, it as nodeIt } from "node:test";
import type { Effect, JobSpec, TransitionContext } from "../../shared/core/index.ts";
import type { BusEventWire, CallbackKind, ErrorBody } from "../../shared/protocol/schemas.ts";

/**
 * `node:test`'s `describe`/`it` return promises the runner tracks itself; these wrappers say so (`void`), so
 * the no-floating-promises rule stays on for real promises in the tests.
 */
export function describe(name: string, fn: () => void): void {
  void nodeDescribe(name, fn);
}
export function it(name: string, fn: () => void | Promise<void>): void {
  void nodeIt(name, fn);
}

export const NOW = 1_000;

/** The fixed context: `now` never moves unless a test asks, ids come from a counter. */
export function makeCtx(now = NOW): TransitionContext {
  let n = 0;
  return { now, newId: () => `id-${++n}` };
}

export const spec = (type: string, queue = "default"): JobSpec => ({
  type,
  queue,
  payload: { type },
  options: {},
});

export const err = (message: string, code = "HANDLER_ERROR"): ErrorBody => ({
  code,
  message,
  retryable: false,
});

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

// ---------------------------------------------------------------------------------------------------- effects

export const eventsOf = (effects: readonly Effect[]): BusEventWire[] =>
  effects.flatMap((e) => (e.type === "event" ? [e.event] : []));

export const eventKinds = (effects: readonly Effect[]): string[] => eventsOf(effects).map((e) => e.kind);

export const publishesOf = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === "publish" ? [e] : []));

export const callbacksOf = (effects: readonly Effect[], kind?: CallbackKind) =>
  publishesOf(effects).filter(
    (p) => p.item.callback && (kind === undefined || p.item.callback.kind === kind),
  );

/** The sequence of published callback kinds, in effect order. */
export const callbackKinds = (effects: readonly Effect[]): CallbackKind[] =>
  callbacksOf(effects).map((p) => p.item.callback!.kind);

export const doneOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.type === "done" ? [e] : []));

export const cancelsOf = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === "cancel" ? [e] : []));

export interface Tally {
  events: Record<string, number>;
  callbacks: Record<string, number>;
  cancels: number;
  done: { status: string; error?: ErrorBody }[];
}

export function tally(effects: readonly Effect[]): Tally {
  const events: Record<string, number> = {};
  for (const k of eventKinds(effects)) events[k] = (events[k] ?? 0) + 1;
  const callbacks: Record<string, number> = {};
  for (const k of callbackKinds(effects)) callbacks[k] = (callbacks[k] ?? 0) + 1;
  return {
    events,
    callbacks,
    cancels: cancelsOf(effects).length,
    done: doneOf(effects).map((d) => (d.error ? { status: d.status, error: d.error } : { status: d.status })),
  };
}

/** Within one history every distinct fact has its own deterministic id: no event id or msgId repeats. */
export function assertUniqueIds(effects: readonly Effect[]): void {
  const ids = eventsOf(effects).map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, `event ids repeat: ${ids.join(", ")}`);
  const msgIds = publishesOf(effects).map((p) => p.msgId);
  assert.equal(new Set(msgIds).size, msgIds.length, `publish msgIds repeat: ${msgIds.join(", ")}`);
  for (const p of publishesOf(effects)) assert.equal(p.msgId, p.item.jobId, "msgId is the job id");
}

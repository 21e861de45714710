/**
 * @module
 * Which outbox effects still make sense for the current state. An effect written with an earlier transition
 * can be overtaken (a chain failed before its next node was published: that node must never run), so the
 * shell drops such effects instead of performing them late.
 */
import type { Effect, WorkflowState } from "./types.ts";

export function isEffectLive(effect: Effect, state: WorkflowState): boolean {
  if (effect.type !== "publish") return true;
  const { item } = effect;
  if (item.chain) {
    return (
      state.kind === "chain" && !state.completed && !state.failed && state.nextIndex === item.chain.index
    );
  }
  if (item.callback && item.callback.kind !== "progress") {
    return state.claims[item.callback.kind]?.jobId === item.jobId;
  }
  return true;
}

/**
 * For an effect old enough that JetStream may no longer deduplicate it: may it be performed again? Facts and
 * notices are harmless to repeat (observers deduplicate events by id); a progress call is superseded by later
 * ones; a node or callback job only if its callback has no outcome yet and the caller found no copy of it.
 */
export function mayRepeatOldEffect(effect: Effect, state: WorkflowState, copyMayExist: boolean): boolean {
  if (effect.type !== "publish") return true;
  const { item } = effect;
  if (item.callback?.kind === "progress") return false;
  if (item.callback) {
    const claim = state.claims[item.callback.kind];
    if (claim?.status !== "published") return false;
  }
  return !copyMayExist && isEffectLive(effect, state);
}

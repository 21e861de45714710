/**
 * @module
 * Prune: removes finished chains and batches (their callback records live inside them) last changed before a
 * time. Running workflows, and finished ones whose outbox is not yet performed, are never removed.
 */
import { isPrunable } from "../core/views.ts";
import type { WorkflowStore } from "./store.ts";

export async function pruneWorkflows(store: WorkflowStore, before: number): Promise<number> {
  let removed = 0;
  for await (const ref of store.list()) {
    const r = await store.read(ref);
    if (!r || !isPrunable(r.value.state, before) || r.value.outbox.length > 0) continue;
    if (await store.remove(ref, r.revision)) {
      await store.setActive(ref, false);
      removed++;
    }
  }
  return removed;
}

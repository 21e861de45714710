/**
 * @module
 * An in-process `WorkflowStore`: the reference implementation of the contract, used by unit tests and the
 * Fake. Values are copied in and out, as a real store would serialise them.
 */
import {
  refKey,
  RevisionConflictError,
  type StoredWorkflow,
  type Versioned,
  type WorkflowRef,
  type WorkflowStore,
} from "./store.ts";

export class MemoryStore implements WorkflowStore {
  private readonly records = new Map<string, { json: string; revision: number; ref: WorkflowRef }>();
  private readonly active = new Map<string, WorkflowRef>();
  private revision = 0;

  async read(ref: WorkflowRef): Promise<Versioned<StoredWorkflow> | null> {
    const r = this.records.get(refKey(ref));
    return r ? { value: JSON.parse(r.json) as StoredWorkflow, revision: r.revision } : null;
  }

  async write(ref: WorkflowRef, value: StoredWorkflow, expectedRevision: number | null): Promise<number> {
    const key = refKey(ref);
    const current = this.records.get(key);
    if ((current?.revision ?? null) !== expectedRevision) throw new RevisionConflictError(key);
    const revision = ++this.revision;
    this.records.set(key, { json: JSON.stringify(value), revision, ref: { ...ref } });
    return revision;
  }

  async remove(ref: WorkflowRef, expectedRevision?: number): Promise<boolean> {
    const key = refKey(ref);
    const current = this.records.get(key);
    if (!current || (expectedRevision !== undefined && current.revision !== expectedRevision)) return false;
    this.records.delete(key);
    return true;
  }

  async *list(): AsyncIterable<WorkflowRef> {
    for (const r of [...this.records.values()]) yield { ...r.ref };
  }

  async setActive(ref: WorkflowRef, active: boolean): Promise<void> {
    if (active) this.active.set(refKey(ref), { ...ref });
    else this.active.delete(refKey(ref));
  }

  async *listActive(): AsyncIterable<WorkflowRef> {
    for (const r of [...this.active.values()]) yield { ...r };
  }
}

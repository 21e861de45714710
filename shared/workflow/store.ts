/**
 * @module
 * The workflow store port (the Go `bus` package's `Store`, reshaped): one record per workflow holding its state and its
 * outbox, read with a revision and written only against that revision. The coordinator applies a whole group
 * of outcomes to a workflow in one such write. `KvWorkflowStore` (JetStream KV) and `MemoryStore` implement it and
 * pass one contract suite.
 */
import { JetbusError } from "../protocol/errors.ts";
import type { Effect, WorkflowState } from "../core/types.ts";

export type WorkflowKind = "chain" | "batch";

export interface OutboxEntry {
  effect: Effect;
  /** when the entry was written: entries older than the dedupe horizon are never republished blindly */
  at: number;
}

export interface StoredWorkflow {
  state: WorkflowState;
  /** effects written with the state and not yet known to be performed */
  outbox: OutboxEntry[];
}

export interface Versioned<T> {
  value: T;
  revision: number;
}

export interface WorkflowRef {
  kind: WorkflowKind;
  id: string;
}

export class RevisionConflictError extends JetbusError {
  constructor(key: string) {
    super("CONFLICT", `revision conflict on ${key}`, { retryable: true });
  }
}

export interface WorkflowStore {
  read(ref: WorkflowRef): Promise<Versioned<StoredWorkflow> | null>;
  /** `expectedRevision: null` = the record must not exist yet. Throws RevisionConflictError otherwise. */
  write(ref: WorkflowRef, value: StoredWorkflow, expectedRevision: number | null): Promise<number>;
  /** Removes the record (only at `expectedRevision`, when given). Returns false on a conflict or if absent. */
  remove(ref: WorkflowRef, expectedRevision?: number): Promise<boolean>;
  list(): AsyncIterable<WorkflowRef>;
  /** A small index of workflows that may still need the reconciler: running, or terminal with an outbox. */
  setActive(ref: WorkflowRef, active: boolean): Promise<void>;
  listActive(): AsyncIterable<WorkflowRef>;
}

export function refKey(ref: WorkflowRef): string {
  return `${ref.kind}.${ref.id}`;
}

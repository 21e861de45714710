/**
 * @module
 * `WorkflowStore` on JetStream KV: key `chain.<id>` / `batch.<id>`, every write revision-checked
 * (create for a new record, update at the read revision otherwise); conflicts surface as
 * RevisionConflictError so the engine re-reads and re-applies. `active.<kind>.<id>` keys index the
 * workflows the reconciler must look at.
 */
import type { KV } from "@nats-io/kv";
import { keys } from "../protocol/names.ts";
import { BUDGETS, byteLength } from "../protocol/budgets.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";
import { JetbusError } from "../protocol/errors.ts";
import {
  refKey,
  RevisionConflictError,
  type StoredWorkflow,
  type Versioned,
  type WorkflowKind,
  type WorkflowRef,
  type WorkflowStore,
} from "../workflow/store.ts";
import { isRevisionConflict, listKeys } from "./kv.ts";

const ACTIVE = "active";

export class KvWorkflowStore implements WorkflowStore {
  constructor(private readonly kv: KV) {}

  async read(ref: WorkflowRef): Promise<Versioned<StoredWorkflow> | null> {
    const e = await this.kv.get(keys.workflow(ref.kind, ref.id));
    if (!e || e.operation !== "PUT") return null;
    return { value: e.json<StoredWorkflow>(), revision: e.revision };
  }

  async write(ref: WorkflowRef, value: StoredWorkflow, expectedRevision: number | null): Promise<number> {
    const key = keys.workflow(ref.kind, ref.id);
    const data = JSON.stringify(value);
    // Checked before the write: past max_payload the server would refuse it on every retry.
    const bytes = byteLength(data);
    if (bytes > BUDGETS.workflowRecordBytes)
      throw new JetbusError(
        ErrorCodes.PayloadTooLarge,
        `workflow record ${key} would be ${bytes} bytes, over its ${BUDGETS.workflowRecordBytes}-byte budget`,
      );
    try {
      if (expectedRevision !== null) return await this.kv.update(key, data, expectedRevision);
      try {
        return await this.kv.create(key, data);
      } catch (err) {
        // A pruned record leaves a delete marker; creating on top of it must still be revision-checked.
        if (!isRevisionConflict(err)) throw err;
        const e = await this.kv.get(key);
        if (e && e.operation !== "PUT") return await this.kv.update(key, data, e.revision);
        throw err;
      }
    } catch (err) {
      if (isRevisionConflict(err)) throw new RevisionConflictError(key);
      throw err;
    }
  }

  async remove(ref: WorkflowRef, expectedRevision?: number): Promise<boolean> {
    const key = keys.workflow(ref.kind, ref.id);
    // A purge of an absent key succeeds; the contract says false (nothing was removed).
    if (expectedRevision === undefined && !(await this.read(ref))) return false;
    try {
      await this.kv.purge(
        key,
        expectedRevision === undefined ? undefined : { previousSeq: expectedRevision },
      );
      return true;
    } catch (err) {
      if (isRevisionConflict(err)) return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<WorkflowRef> {
    for (const kind of ["chain", "batch"] as WorkflowKind[]) {
      for (const key of await listKeys(this.kv, `${kind}.*`)) yield { kind, id: key.slice(kind.length + 1) };
    }
  }

  async setActive(ref: WorkflowRef, active: boolean): Promise<void> {
    const key = `${ACTIVE}.${refKey(ref)}`;
    if (active) await this.kv.put(key, "1");
    else await this.kv.purge(key);
  }

  async *listActive(): AsyncIterable<WorkflowRef> {
    for (const key of await listKeys(this.kv, `${ACTIVE}.>`)) {
      const [, kind, ...rest] = key.split(".");
      if (kind === "chain" || kind === "batch") yield { kind, id: rest.join(".") };
    }
  }
}

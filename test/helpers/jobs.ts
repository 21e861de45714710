/**
 * @module
 * Helpers for plain-job integration tests: unique names per test, a recorder of handler runs and typed-error
 * assertions.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { JetbusError } from "../../shared/index.ts";
import { deferred, type Latch } from "../../shared/testkit/wait.ts";

/** A job type (or queue) nobody else in the file uses: `<prefix>-<6 hex>`. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export interface Run {
  attempt: number;
  /** performance.now() when the handler started */
  at: number;
  dispatchId: string;
}

/** Records handler runs; `next(n)` resolves when the n-th run (counting from 1) has started. */
export class Runs {
  readonly list: Run[] = [];
  private readonly waiters: { n: number; latch: Latch<Run[]> }[] = [];

  add(run: Run): void {
    this.list.push(run);
    for (const w of this.waiters) if (this.list.length >= w.n) w.latch.resolve([...this.list]);
  }

  get attempts(): number[] {
    return this.list.map((r) => r.attempt);
  }

  get count(): number {
    return this.list.length;
  }

  /** Waits until at least `n` runs have started. */
  reach(n: number, timeoutMs = 10_000, what = `${n} handler runs`): Promise<Run[]> {
    const latch = deferred<Run[]>();
    if (this.list.length >= n) latch.resolve([...this.list]);
    else this.waiters.push({ n, latch });
    return latch.wait(timeoutMs, `${what} (saw ${this.list.length})`);
  }
}

/** Asserts that `promise` rejects with a JetbusError of `code` (and a message matching `message`). */
export async function rejectsWithCode(
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<JetbusError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof JetbusError, `expected a JetbusError, got ${String(caught)}`);
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  if (message) assert.match(caught.message, message);
  return caught;
}

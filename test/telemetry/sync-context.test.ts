/**
 * @module
 * The dispatcher's and coordinator's context manager: a context is active for the synchronous part of
 * `with` (nested ones restore the outer one, also when the function throws), `bind` runs a function in its
 * context, and nothing is carried across an await — what those services hand on, they hand on explicitly.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContextKey, ROOT_CONTEXT } from "@opentelemetry/api";
import { SyncContextManager } from "../../shared/telemetry/sync-context.ts";

const key = createContextKey("test");
const ctx = (v: string) => ROOT_CONTEXT.setValue(key, v);
const value = (m: SyncContextManager) => m.active().getValue(key);

describe("SyncContextManager", () => {
  it("is active inside with, nested ones restore the outer, a throw restores too", () => {
    const m = new SyncContextManager();
    assert.equal(m.active(), ROOT_CONTEXT);
    const seen = m.with(ctx("outer"), () => {
      const inner = m.with(ctx("inner"), () => value(m));
      assert.throws(() =>
        m.with(ctx("thrown"), () => {
          throw new Error("boom");
        }),
      );
      return [inner, value(m)];
    });
    assert.deepEqual(seen, ["inner", "outer"]);
    assert.equal(m.active(), ROOT_CONTEXT);
  });

  it("passes this and arguments, and bind runs a function in its context", () => {
    const m = new SyncContextManager();
    const self = { n: 2 };
    assert.equal(
      m.with(
        ctx("a"),
        function (this: typeof self, x: number) {
          return this.n * x;
        },
        self,
        21,
      ),
      42,
    );
    const bound = m.bind(ctx("bound"), () => value(m));
    assert.equal(bound(), "bound");
    assert.equal(m.bind(ctx("x"), 7), 7, "anything but a function is returned as it is");
  });

  it("carries nothing across an await", async () => {
    const m = new SyncContextManager();
    const after = await m.with(ctx("sync"), async () => {
      assert.equal(value(m), "sync");
      await Promise.resolve();
      return value(m);
    });
    assert.equal(after, undefined);
  });
});

/**
 * @module
 * The console's pure derivations: a batch's and a chain's page from their records, a type's health from two
 * consumer readings, the trace link, and a derived job id's workflow.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchPage, chainPage, traceUrl, typeHealth } from "../../shared/core/console-views.ts";
import { parseWorkflowJobId } from "../../shared/core/ids.ts";
import type { BatchState, ChainState } from "../../shared/core/types.ts";

const spec = (type: string) => ({ type, queue: "q", payload: null, options: {} });
const base = { dispatchId: "dsp_1", queue: "q", failure: null, createdAt: 1, updatedAt: 2 };

const batch = (over: Partial<BatchState> = {}): BatchState => ({
  ...base,
  kind: "batch",
  id: "bat_1",
  callbacks: { then: spec("t"), catch: spec("c"), progress: spec("p") },
  claims: {},
  name: "n",
  allowFailures: true,
  sealed: true,
  total: 10,
  processed: 4,
  failed: 1,
  skipped: 0,
  cancelled: false,
  completed: false,
  done: "",
  members: [["q", "a", 10]],
  progressPublished: 2,
  ...over,
});

describe("batchPage", () => {
  it("counts, state and callbacks from the record", () => {
    const p = batchPage(batch({ claims: { catch: { jobId: "x", status: "succeeded", at: 1 } } }));
    assert.deepEqual([p.pending, p.state], [6, "running"]);
    assert.deepEqual(
      p.callbacks.map((c) => [c.kind, c.status]),
      [
        ["then", "not fired"],
        ["catch", "succeeded"],
        ["progress", "published"],
      ],
    );
  });
  const states: [Partial<BatchState>, string][] = [
    [{ sealed: false }, "creating"],
    [{ completed: true, processed: 10, failed: 0 }, "completed"],
    [{ completed: true, processed: 10 }, "completed with failures"],
    [{ completed: true, cancelled: true }, "cancelled"],
  ];
  for (const [over, want] of states) it(want, () => assert.equal(batchPage(batch(over)).state, want));
  it("a callback that can no longer fire is 'never'; member runs are capped", () => {
    const members = Array.from({ length: 60 }, (_, i): [string, string, number] => ["q", `t${i}`, 1]);
    const p = batchPage(batch({ completed: true, processed: 10, failed: 0, members }));
    assert.equal(p.callbacks.find((c) => c.kind === "catch")!.status, "never");
    assert.equal(p.members.length, 50);
    assert.equal(p.membersTruncated, true);
  });
});

describe("chainPage", () => {
  const chain = (over: Partial<ChainState>): ChainState => ({
    ...base,
    kind: "chain",
    id: "chn_1",
    callbacks: {},
    claims: {},
    nodes: [spec("a"), spec("b"), spec("c")],
    nextIndex: 1,
    completed: false,
    failed: false,
    ...over,
  });
  const cases: [Partial<ChainState>, string[]][] = [
    [{}, ["succeeded", "running", "pending"]],
    [{ failed: true, completed: true }, ["succeeded", "failed", "skipped"]],
    [{ nextIndex: 3, completed: true }, ["succeeded", "succeeded", "succeeded"]],
  ];
  for (const [over, want] of cases)
    it(want.join(" → "), () =>
      assert.deepEqual(
        chainPage(chain(over)).nodes.map((n) => n.state),
        want,
      ),
    );
});

describe("typeHealth", () => {
  const row = { ready: 3, delayed: 0, inFlight: 0, workers: 0, pullRequests: 0 };
  it("no worker: jobs waiting and nobody serving", () => {
    assert.equal(typeHealth(row, undefined, undefined).noWorker, true);
    assert.equal(typeHealth({ ...row, ready: 0 }, undefined, undefined).noWorker, false);
  });
  it("a foreign worker seen only by its open pull request counts as one", () => {
    const h = typeHealth({ ...row, pullRequests: 2 }, undefined, undefined);
    assert.deepEqual([h.liveWorkers, h.noWorker], [1, false]);
    assert.equal(typeHealth({ ...row, workers: 3, pullRequests: 1 }, undefined, undefined).liveWorkers, 3);
  });
  it("rate: finished deliveries per second between readings", () => {
    assert.equal(typeHealth(row, { finished: 10, at: 1_000 }, { finished: 30, at: 3_000 }).rate, 10);
    assert.equal(typeHealth(row, undefined, { finished: 30, at: 3_000 }).rate, null);
  });
});

it("traceUrl searches Jaeger by jetbus.dispatch_id", () => {
  assert.equal(traceUrl(null, "dsp_1"), null);
  const u = new URL(traceUrl("http://jaeger:16686", "dsp_1")!);
  assert.equal(u.pathname, "/search");
  assert.deepEqual(JSON.parse(u.searchParams.get("tags")!), { "jetbus.dispatch_id": "dsp_1" });
});

it("parseWorkflowJobId inverts the derived job ids", () => {
  assert.deepEqual(parseWorkflowJobId("bat_1_m42"), { workflowId: "bat_1", role: "member", index: 42 });
  assert.deepEqual(parseWorkflowJobId("chn_1_n0"), { workflowId: "chn_1", role: "node", index: 0 });
  assert.deepEqual(parseWorkflowJobId("bat_1_finally"), { workflowId: "bat_1", role: "callback" });
  assert.deepEqual(parseWorkflowJobId("bat_1_progress3"), {
    workflowId: "bat_1",
    role: "progress",
    index: 3,
  });
  assert.equal(parseWorkflowJobId("dsp_1a2b"), null);
});

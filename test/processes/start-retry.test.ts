/**
 * @module
 * Which start failures a service waits out (a cluster still forming) and which it reports and exits on.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { startBackoffMs, startWillPass } from "../../shared/service/start-retry.ts";

const api = (code: number, err_code: number) => new JetStreamApiError({ code, err_code, description: "x" });

describe("start retry", () => {
  const cases: [string, unknown, boolean][] = [
    ["a request time-out", new errors.TimeoutError(), true],
    ["no responders (JetStream not up)", new errors.NoRespondersError("$JS.API.INFO"), true],
    [
      "a request error caused by a time-out",
      new errors.RequestError("x", { cause: new errors.TimeoutError() }),
      true,
    ],
    ["JetStream temporarily unavailable", api(503, 10008), true],
    ["no suitable peers for placement", api(500, 10005), true],
    ["a stream offline", api(500, 10118), true],
    ["a permission refusal", new errors.PermissionViolationError("x", "publish", "$JS.API.>"), false],
    ["a stream name in use with another configuration", api(400, 10058), false],
    ["a plain error", new Error("bad config"), false],
  ];
  for (const [name, err, passes] of cases)
    it(`${name}: ${passes ? "waits and starts again" : "exits"}`, () =>
      assert.equal(startWillPass(err), passes));

  it("backs off up to 5 s", () => {
    assert.deepEqual([1, 2, 10, 100].map(startBackoffMs), [500, 1_000, 5_000, 5_000]);
  });
});

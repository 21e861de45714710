/**
 * @module
 * Delivery info read from a pulled message's reply subject, in both forms the server uses.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDeliveryInfo } from "../../shared/nats/pulled-msg.ts";

void describe("parseDeliveryInfo", () => {
  void it("reads the short form ($JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>)", () => {
    assert.deepEqual(parseDeliveryInfo("$JS.ACK.JETBUS_JOBS.jobs-q-t-abc.2.1041.77.1764771234567000000.12"), {
      stream: "JETBUS_JOBS",
      consumer: "jobs-q-t-abc",
      deliveryCount: 2,
      streamSequence: 1041,
      pending: 12,
    });
  });
  void it("reads the long form (a domain and an account hash after ACK, a token at the end)", () => {
    assert.deepEqual(
      parseDeliveryInfo(
        "$JS.ACK._.ACCHASH.JETBUS_OUTCOMES.jetbus-coordinator.1.7.7.1764771234567000000.0.xyz",
      ),
      {
        stream: "JETBUS_OUTCOMES",
        consumer: "jetbus-coordinator",
        deliveryCount: 1,
        streamSequence: 7,
        pending: 0,
      },
    );
  });
  void it("refuses a subject that is not a JetStream delivery", () => {
    assert.throws(() => parseDeliveryInfo("_INBOX.abc.1"), /not a JetStream delivery/);
    assert.throws(() => parseDeliveryInfo(""), /not a JetStream delivery/);
  });
});

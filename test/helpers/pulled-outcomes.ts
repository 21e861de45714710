/**
 * @module
 * An outcome message as the coordinator's pull loop hands it over, recording its acks and naks, so a test can
 * drive `OutcomeProcessor.handleGroup` directly and see how each message was settled.
 */
import type { PulledMsg } from "../../shared/nats/pulled-msg.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import type { OutcomeEntry } from "../../shared/protocol/schemas.ts";

export function pulledOutcomes(seq: number, deliveryCount: number, outcomes: OutcomeEntry[]) {
  const m = {
    subject: "jetbus.outcomes.w1",
    data: new TextEncoder().encode(JSON.stringify({ v: 1, outcomes })),
    seq,
    info: { stream: STREAMS.outcomes, consumer: "c", deliveryCount, streamSequence: seq, pending: 0 },
    acks: 0,
    naks: [] as (number | undefined)[],
    ack() {
      m.acks++;
    },
    nak(delayMs?: number) {
      m.naks.push(delayMs);
    },
    working() {},
    term() {},
  };
  return m satisfies PulledMsg;
}

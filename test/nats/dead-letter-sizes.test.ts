/**
 * @module
 * A message nobody can read always becomes a dead letter, whatever its bytes: `raw` is cut until the ENCODED
 * dead letter fits (NUL bytes take 6 bytes each once escaped), and a letter the stream still refuses for its
 * size is written without `raw` (its byte count and sha256 kept). Against a real nats-server.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { deadLetterRaw } from "../../shared/nats/dead-letter-writer.ts";
import { provisionTopology } from "../../shared/nats/provision.ts";
import { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import type { PulledMsg } from "../../shared/nats/pulled-msg.ts";
import { DEFAULT_TOPOLOGY, deadLetterMaxBytes } from "../../shared/nats/topology.ts";
import { messageBudget } from "../../shared/protocol/budgets.ts";
import { STREAMS } from "../../shared/protocol/names.ts";
import type { DeadLetter } from "../../shared/protocol/schemas.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { createLogger } from "../../shared/telemetry/logger.ts";
import { startNatsServer, type NatsServer } from "../../shared/testkit/index.ts";

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  await provisionTopology(nc, jsm, DEFAULT_TOPOLOGY, createLogger("test", "silent"));
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

let seq = 0;
/** What deadLetterRaw reads of a pulled message. */
const pulled = (data: Uint8Array): PulledMsg =>
  ({
    data,
    subject: "jetbus.outcomes.x",
    seq: ++seq,
    info: { stream: "T", deliveryCount: 1 },
  }) as unknown as PulledMsg;

async function stored(source: string): Promise<{ letter: DeadLetter; bytes: number }> {
  const m = await jsm.streams.getMessage(STREAMS.deadLetters, {
    last_by_subj: subjects.invalidDeadLetter(source),
  });
  assert.ok(m, "no dead letter stored");
  return { letter: m.json<DeadLetter>(), bytes: m.data.length };
}

const error = { code: "MALFORMED", message: "not JSON", retryable: false };

describe("dead letters of unreadable messages fit whatever their bytes", () => {
  it("900 KB of NUL bytes: raw cut until the escaped letter fits the budget", async () => {
    const publisher = new JetStreamPublisher(nc, {
      deadLetterMaxBytes: deadLetterMaxBytes(DEFAULT_TOPOLOGY),
    });
    try {
      await deadLetterRaw(publisher, pulled(new Uint8Array(900_000)), error, "nul");
      const { letter, bytes } = await stored("nul");
      assert.ok(bytes <= messageBudget(nc.info?.max_payload), `${bytes} bytes`);
      const raw = letter.raw ?? "";
      assert.match(raw, /…\[truncated \d+ bytes\]$/);
      assert.equal(raw.slice(0, raw.indexOf("…")), "\0".repeat(raw.indexOf("…")));
      assert.ok(raw.length > 10_000, "raw kept as much as fits");
    } finally {
      publisher.close();
    }
  });

  it("quotes under a 64 KiB dead-letter stream the publisher knows: cut to it", async () => {
    const publisher = new JetStreamPublisher(nc, { deadLetterMaxBytes: 64 * 1024 });
    try {
      await deadLetterRaw(publisher, pulled(Buffer.from('"'.repeat(300_000))), error, "quotes");
      const { letter, bytes } = await stored("quotes");
      assert.ok(bytes <= messageBudget(undefined, 64 * 1024), `${bytes} bytes`);
      assert.ok((letter.raw ?? "").startsWith('""'));
    } finally {
      publisher.close();
    }
  });

  it("a stream limit the publisher does not know: written without raw, its size and sha256 kept", async () => {
    const si = await jsm.streams.info(STREAMS.deadLetters);
    await jsm.streams.update(STREAMS.deadLetters, { ...si.config, max_msg_size: 32 * 1024 });
    const publisher = new JetStreamPublisher(nc);
    const data = Buffer.from("x".repeat(200_000));
    try {
      await deadLetterRaw(publisher, pulled(data), error, "refused");
      const { letter } = await stored("refused");
      assert.equal(letter.raw, undefined);
      assert.deepEqual(letter.error.details, {
        raw_bytes: 200_000,
        raw_sha256: createHash("sha256").update(data).digest("hex"),
      });
    } finally {
      publisher.close();
      await jsm.streams.update(STREAMS.deadLetters, si.config);
    }
  });
});

/**
 * @module
 * Jobs of an unknown type: stored on a (queue, type) that no worker has ever registered (no durable consumer)
 * and that no live worker serves. Past JETBUS_UNKNOWN_TYPE_DEADLINE_MS they are dead-lettered with reason
 * `no_handler` (replayable once a worker exists) and reported as failed outcomes, so a waiter, a chain or a
 * batch hears about it instead of waiting forever. The temporary consumer used to read them is removed, so the
 * type stays unknown until a worker registers it.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { JobEnvelope as JobEnvelopeSchema } from "../../shared/protocol/envelope.ts";
import type { DeadLetter, ErrorBody, OutcomeEntry } from "../../shared/protocol/schemas.ts";
import { outcomeEntry } from "../../shared/protocol/outcome-builders.ts";
import { subjects } from "../../shared/protocol/subjects.ts";
import { envelopeWorkflowId } from "../../shared/protocol/dead-letter.ts";
import { check, encodeMessage, parseJson } from "../../shared/protocol/validate.ts";
import type { LiveWorkers, QueueRow } from "../../shared/nats/queue-overview.ts";
import type { JetStreamPublisher } from "../../shared/nats/publisher.ts";
import { jobConsumerConfig, type TopologyConfig } from "../../shared/nats/topology.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";

export interface OrphanDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  publisher: JetStreamPublisher;
  workers: LiveWorkers;
  topology: TopologyConfig;
  deadlineMs: number;
  log: Logger;
}

const key = (r: { queue: string; type: string }) => `${r.queue}\u0000${r.type}`;

export class OrphanSweeper {
  private readonly since = new Map<string, number>();

  constructor(private readonly d: OrphanDeps) {}

  async sweep(rows: QueueRow[], now: number): Promise<number> {
    const orphans = rows.filter((r) => !r.hasConsumer && r.workers === 0 && r.ready > 0);
    const current = new Set(orphans.map(key));
    for (const k of [...this.since.keys()]) if (!current.has(k)) this.since.delete(k);
    let moved = 0;
    for (const r of orphans) {
      const first = this.since.get(key(r)) ?? now;
      this.since.set(key(r), first);
      if (now - first < this.d.deadlineMs) continue;
      moved += await this.drain(r.queue, r.type);
      this.since.delete(key(r));
    }
    return moved;
  }

  private async drain(queue: string, type: string): Promise<number> {
    const durable = jobConsumerName(queue, type);
    await this.d.jsm.consumers.add(STREAMS.jobs, {
      ...jobConsumerConfig(this.d.topology, durable, subjects.job(queue, type)),
      durable_name: durable,
    });
    const error: ErrorBody = {
      code: ErrorCodes.NoHandler,
      message: `no worker has registered job type ${type} on queue ${queue} within ${Math.round(this.d.deadlineMs / 1000)} s`,
      retryable: false,
    };
    let moved = 0;
    try {
      const consumer = await this.d.js.consumers.get(STREAMS.jobs, durable);
      for (;;) {
        const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
        const outcomes: OutcomeEntry[] = [];
        const acks: (() => void)[] = [];
        for await (const m of batch) {
          const value = parseJson(m.data, "job envelope");
          const now = Date.now();
          const letter: DeadLetter = {
            v: 1,
            reason: "no_handler",
            source_subject: m.subject,
            error,
            attempts: 0,
            failed_at: now,
            ...(check(JobEnvelopeSchema, value)
              ? { envelope: value }
              : { raw: new TextDecoder().decode(m.data) }),
          };
          const workflowId = letter.envelope ? envelopeWorkflowId(letter.envelope) : undefined;
          await this.d.publisher.publish(
            subjects.deadLetter(queue, type, workflowId),
            encodeMessage(letter),
            {
              msgId: `dlq-${m.info.stream}-${m.seq}`,
            },
          );
          if (letter.envelope) {
            outcomes.push(
              outcomeEntry(letter.envelope, {
                attempt: letter.envelope.attempt,
                status: "failed",
                startedAt: now,
                finishedAt: now,
                error,
              }),
            );
          }
          acks.push(() => m.ack());
        }
        if (outcomes.length > 0) {
          await this.d.publisher.publish(
            subjects.outcomes("coordinator-orphans"),
            encodeMessage({ v: 1, outcomes }),
            {
              msgId: `orphans-${outcomes[0]!.job_id}-${outcomes.length}`,
            },
          );
        }
        for (const ack of acks) ack();
        moved += acks.length;
        if (acks.length === 0) break;
      }
    } finally {
      // Keep the type unknown, unless a worker registered it meanwhile and is using the consumer.
      const served = (await this.d.workers(Date.now())).some((w) =>
        w.serves.some((s) => s.queue === queue && s.type === type),
      );
      if (!served) await this.d.jsm.consumers.delete(STREAMS.jobs, durable).catch(() => undefined);
    }
    if (moved > 0) {
      metrics.reconciled.inc({ action: "no_handler_dead_lettered" }, moved);
      this.d.log.warn(
        { queue, type, jobs: moved },
        "jobs of an unknown type dead-lettered (no worker ever registered it)",
      );
    }
    return moved;
  }
}

/**
 * @module
 * The JetStream layout as configuration: streams, buckets, consumers. Durations are milliseconds here and
 * become nanoseconds only when handed to the server (`nanos()`), which reads every stream and consumer
 * duration in nanoseconds.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { BUCKETS, CONSUMERS, STREAMS, waitingConsumerName } from "../protocol/names.ts";
import { STREAM_SUBJECTS, subjects } from "../protocol/subjects.ts";

export interface TopologyConfig {
  /** stream and KV replicas: 1 on a laptop, 3 on a cluster */
  replicas: number;
  /** jobs each of the ready and delayed streams may hold before publishes are rejected (QUEUE_FULL); -1 = no limit */
  maxQueuedJobs: number;
  maxQueuedBytes: number;
  /** largest stored message (envelope + payload) */
  maxMessageBytes: number;
  /** JetStream msg-id dedupe window: how long a retried dispatch with the same id is recognised */
  duplicateWindowMs: number;
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  /** 0 keeps dead letters until they are replayed or removed */
  deadLetterMaxAgeMs: number;
  /** how long `bus.wait` can find a finished plain job */
  resultTtlMs: number;
  /** JETBUS_RESULTS holds at most this many bytes (oldest dropped); -1 = no limit */
  resultsMaxBytes: number;
  /** upper bound on uniqueFor; also the unique bucket's age limit */
  uniqueMaxMs: number;
  /** ack wait of job consumers: a worker that stops heart-beating loses its jobs after this long */
  ackWaitMs: number;
  maxAckPending: number;
}

export const DEFAULT_TOPOLOGY: TopologyConfig = {
  replicas: 1,
  maxQueuedJobs: 10_000_000,
  maxQueuedBytes: -1,
  maxMessageBytes: 1024 * 1024,
  duplicateWindowMs: 2 * 60_000,
  eventsMaxAgeMs: 24 * 3600_000,
  eventsMaxBytes: 1024 * 1024 * 1024,
  deadLetterMaxAgeMs: 0,
  resultTtlMs: 24 * 3600_000,
  resultsMaxBytes: 1024 * 1024 * 1024,
  uniqueMaxMs: 7 * 24 * 3600_000,
  ackWaitMs: 30_000,
  maxAckPending: 10_000,
};

const workQueue = (t: TopologyConfig): Partial<StreamConfig> => ({
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
  num_replicas: t.replicas,
  // Discard new: a full queue rejects the publish (QUEUE_FULL) instead of silently dropping a stored job.
  discard: DiscardPolicy.New,
  max_msgs: t.maxQueuedJobs,
  max_bytes: t.maxQueuedBytes,
  max_msg_size: t.maxMessageBytes,
  duplicate_window: nanos(t.duplicateWindowMs),
  max_age: 0,
});

export function streamConfigs(t: TopologyConfig): (Partial<StreamConfig> & { name: string })[] {
  return [
    // The delayed stream first: the jobs stream sources from it.
    {
      name: STREAMS.delayed,
      subjects: [STREAM_SUBJECTS.waiting, STREAM_SUBJECTS.due, STREAM_SUBJECTS.delayed],
      ...workQueue(t),
      allow_msg_schedules: true,
      // The server refuses discard-new on a stream with schedules, and discard-old would drop waiting jobs
      // silently: the stream is unbounded, and the dispatcher refuses new delayed jobs past the limit instead.
      discard: DiscardPolicy.Old,
      max_msgs: -1,
      max_bytes: -1,
    },
    {
      name: STREAMS.jobs,
      subjects: [STREAM_SUBJECTS.jobs],
      ...workQueue(t),
      // Jobs that waited as schedules arrive here from the delayed stream, server-side: no forwarding hop.
      sources: [
        {
          name: STREAMS.delayed,
          subject_transforms: [{ src: STREAM_SUBJECTS.due, dest: STREAM_SUBJECTS.jobs }],
        },
      ],
    },
    { name: STREAMS.outcomes, subjects: [STREAM_SUBJECTS.outcomes], ...workQueue(t), max_msgs: -1 },
    {
      name: STREAMS.deadLetters,
      subjects: [STREAM_SUBJECTS.deadLetters],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: t.replicas,
      discard: DiscardPolicy.New,
      max_age: nanos(t.deadLetterMaxAgeMs),
      max_msg_size: t.maxMessageBytes + 64 * 1024,
      duplicate_window: nanos(t.duplicateWindowMs),
    },
    {
      name: STREAMS.events,
      subjects: [STREAM_SUBJECTS.events],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: t.replicas,
      discard: DiscardPolicy.Old,
      max_age: nanos(t.eventsMaxAgeMs),
      max_bytes: t.eventsMaxBytes,
      duplicate_window: nanos(t.duplicateWindowMs),
    },
    {
      name: STREAMS.results,
      subjects: [STREAM_SUBJECTS.results],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: t.replicas,
      discard: DiscardPolicy.Old,
      max_age: nanos(t.resultTtlMs),
      max_bytes: t.resultsMaxBytes,
      max_msg_size: t.maxMessageBytes,
      duplicate_window: nanos(t.duplicateWindowMs),
      // Readers fetch one subject's batches with a direct get (any replica answers).
      allow_direct: true,
    },
  ];
}

export interface BucketSpec {
  name: string;
  ttlMs: number;
  history: number;
}

export function bucketSpecs(t: TopologyConfig): BucketSpec[] {
  return [
    { name: BUCKETS.workflows, ttlMs: 0, history: 1 },
    { name: BUCKETS.results, ttlMs: t.resultTtlMs, history: 1 },
    { name: BUCKETS.unique, ttlMs: t.uniqueMaxMs, history: 1 },
    { name: BUCKETS.locks, ttlMs: 24 * 3600_000, history: 1 },
    { name: BUCKETS.limits, ttlMs: 24 * 3600_000, history: 1 },
    { name: BUCKETS.workers, ttlMs: 10 * 60_000, history: 1 },
    { name: BUCKETS.cancels, ttlMs: 30 * 24 * 3600_000, history: 1 },
  ];
}

/** Job consumers: explicit acks; no delivery cap (the worker counts attempts itself and dead-letters). */
export function jobConsumerConfig(
  t: TopologyConfig,
  durable: string,
  subject: string,
): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subject,
    ack_wait: nanos(t.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: t.maxAckPending,
    num_replicas: 0,
  };
}

/** Counts one (queue, type)'s waiting jobs (`num_pending`); never pulled, so it never delivers or acks. */
export function waitingConsumerConfig(
  queue: string,
  type: string,
): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: waitingConsumerName(queue, type),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subjects.waitingFilter(queue, type),
    max_ack_pending: 1,
  };
}

/** The legacy park forwarder (v1 workers that re-park early jobs on `jetbus.delayed.…`). */
export function schedulerConsumerConfig(t: TopologyConfig): Partial<ConsumerConfig> {
  return {
    durable_name: CONSUMERS.scheduler,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: STREAM_SUBJECTS.delayed,
    ack_wait: nanos(t.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: -1,
  };
}

export function coordinatorConsumerConfig(t: TopologyConfig): Partial<ConsumerConfig> {
  return {
    durable_name: CONSUMERS.coordinator,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: STREAM_SUBJECTS.outcomes,
    ack_wait: nanos(t.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: 20_000,
  };
}

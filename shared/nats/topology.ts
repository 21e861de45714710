/**
 * @module
 * The JetStream layout as configuration: the one source of what every stream, bucket and consumer should look
 * like. Services create what is missing from it and report what differs (provision.ts); `jetbus init` plans
 * and applies the differences (plan.ts). Durations are milliseconds here and become nanoseconds only when
 * handed to the server (`nanos()`), which reads every stream and consumer duration in nanoseconds.
 *
 * Limits policy:
 * - work streams (jobs, outcomes) are bounded by messages and bytes with discard-new, never by age: a full
 *   queue rejects the publish (QUEUE_FULL) and no job expires unseen. The delayed stream holds schedules, and
 *   the server refuses discard-new there: it is unbounded at the server, never by age, and the dispatcher
 *   refuses new delayed jobs past JETBUS_MAX_QUEUED_JOBS instead;
 * - events, and the results bucket, are bounded by age and bytes (oldest dropped first);
 * - dead letters are bounded only when configured (age and/or bytes; then new dead letters are refused when
 *   full rather than old ones dropped);
 * - the workflow bucket is never bounded by age (finished workflows are pruned by the coordinator);
 * - uniqueFor claims, locks and rate-limit windows expire by per-key TTL; their buckets' age limits are only a
 *   backstop for keys that older versions wrote without one.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import {
  BUCKETS,
  CONSUMERS,
  jobConsumerName,
  kvStreamName,
  STREAMS,
  waitingConsumerName,
} from "../protocol/names.ts";
import { kvSubjects, parseJobSubject, STREAM_SUBJECTS, subjects } from "../protocol/subjects.ts";

export interface TopologyConfig {
  /** stream and KV replicas: 1 on a laptop, 3 on a cluster */
  replicas: number;
  /** jobs each of the ready and delayed streams may hold before publishes are rejected (QUEUE_FULL); -1 = no limit */
  maxQueuedJobs: number;
  /** bytes each work stream (jobs, delayed, outcomes) may hold before publishes are rejected; -1 = no limit */
  maxQueuedBytes: number;
  /** largest stored message (envelope + payload) */
  maxMessageBytes: number;
  /** JetStream msg-id dedupe window: how long a retried dispatch with the same id is recognised */
  duplicateWindowMs: number;
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  /** 0 keeps dead letters until they are replayed or removed */
  deadLetterMaxAgeMs: number;
  /** -1 keeps dead letters whatever their size; when set, a full dead-letter stream refuses new ones */
  deadLetterMaxBytes: number;
  /** how long `bus.wait` can find a finished plain job */
  resultTtlMs: number;
  /** bytes of finished-job results kept (oldest dropped first); -1 = no limit */
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
  maxQueuedBytes: 1024 * 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
  duplicateWindowMs: 2 * 60_000,
  eventsMaxAgeMs: 24 * 3600_000,
  eventsMaxBytes: 1024 * 1024 * 1024,
  deadLetterMaxAgeMs: 0,
  deadLetterMaxBytes: -1,
  resultTtlMs: 24 * 3600_000,
  resultsMaxBytes: 1024 * 1024 * 1024,
  uniqueMaxMs: 7 * 24 * 3600_000,
  ackWaitMs: 10_000,
  maxAckPending: 10_000,
};

/** The longest lock TTL or rate-limit window: the locks and limits buckets' age limit (their backstop). */
export const KEY_TTL_MAX_MS = 7 * 24 * 3600_000;

/**
 * How long the server keeps the marker it leaves where a key expired by TTL. A reader sees the key gone (a
 * PURGE entry) meanwhile, and writes over it at the marker's revision; 1 s is the server's minimum.
 */
export const EXPIRY_MARKER_TTL_MS = 1_000;

export type StreamSpec = Partial<StreamConfig> & { name: string };

const workQueue = (t: TopologyConfig, maxMsgs: number): Partial<StreamConfig> => ({
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
  num_replicas: t.replicas,
  // Discard new: a full queue rejects the publish (QUEUE_FULL) instead of silently dropping a stored job.
  discard: DiscardPolicy.New,
  max_msgs: maxMsgs,
  max_bytes: t.maxQueuedBytes,
  max_msg_size: t.maxMessageBytes,
  duplicate_window: nanos(t.duplicateWindowMs),
  max_age: 0,
});

/** A dead letter holds a whole message and its error: the stream allows 64 KiB more than a job's message. */
export const deadLetterMaxBytes = (t: TopologyConfig): number => t.maxMessageBytes + 64 * 1024;

export function streamConfigs(t: TopologyConfig): StreamSpec[] {
  return [
    // The delayed stream first: the jobs stream sources from it.
    {
      name: STREAMS.delayed,
      subjects: [STREAM_SUBJECTS.waiting, STREAM_SUBJECTS.due, STREAM_SUBJECTS.delayed],
      ...workQueue(t, -1),
      allow_msg_schedules: true,
      // The server refuses discard-new on a stream with schedules, and discard-old would drop waiting jobs
      // silently: the stream is unbounded, and the dispatcher refuses new delayed jobs past the limit instead.
      discard: DiscardPolicy.Old,
      max_bytes: -1,
    },
    {
      name: STREAMS.jobs,
      subjects: [STREAM_SUBJECTS.jobs],
      ...workQueue(t, t.maxQueuedJobs),
      // Jobs that waited as schedules arrive here from the delayed stream, server-side: no forwarding hop.
      sources: [
        {
          name: STREAMS.delayed,
          subject_transforms: [{ src: STREAM_SUBJECTS.due, dest: STREAM_SUBJECTS.jobs }],
        },
      ],
    },
    // Each outcome message carries one or more outcomes, so it never needs more messages than jobs.
    { name: STREAMS.outcomes, subjects: [STREAM_SUBJECTS.outcomes], ...workQueue(t, t.maxQueuedJobs) },
    {
      name: STREAMS.deadLetters,
      subjects: [STREAM_SUBJECTS.deadLetters],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: t.replicas,
      discard: DiscardPolicy.New,
      max_age: nanos(t.deadLetterMaxAgeMs),
      max_bytes: t.deadLetterMaxBytes,
      max_msgs: -1,
      max_msg_size: deadLetterMaxBytes(t),
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
      max_msgs: -1,
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
  /** bucket-wide age limit; 0 = none */
  maxAgeMs: number;
  /** -1 = no limit */
  maxBytes: number;
  /** what a full bucket does: refuse writes (new) or drop its oldest keys (old) */
  discard: DiscardPolicy;
  /** keys carry their own TTL (per-message TTL on the bucket's stream) */
  keyTtl: boolean;
}

export function bucketSpecs(t: TopologyConfig): BucketSpec[] {
  const plain = { maxBytes: -1, discard: DiscardPolicy.New, keyTtl: false };
  const expiring = { maxBytes: -1, discard: DiscardPolicy.New, keyTtl: true };
  return [
    { name: BUCKETS.workflows, ...plain, maxAgeMs: 0 },
    {
      name: BUCKETS.results,
      maxAgeMs: t.resultTtlMs,
      maxBytes: t.resultsMaxBytes,
      discard: DiscardPolicy.Old,
      keyTtl: false,
    },
    { name: BUCKETS.unique, ...expiring, maxAgeMs: t.uniqueMaxMs },
    { name: BUCKETS.locks, ...expiring, maxAgeMs: KEY_TTL_MAX_MS },
    { name: BUCKETS.limits, ...expiring, maxAgeMs: KEY_TTL_MAX_MS },
    { name: BUCKETS.workers, ...plain, maxAgeMs: 10 * 60_000 },
    { name: BUCKETS.cancels, ...plain, maxAgeMs: 30 * 24 * 3600_000 },
  ];
}

/**
 * A bucket's stream, laid out as nats.js's `Kvm.create` lays it out (so buckets made by either match), with
 * the spec's limits. History 1: jetbus reads only a key's latest value.
 */
export function bucketStreamConfig(t: TopologyConfig, b: BucketSpec): StreamSpec {
  return {
    name: kvStreamName(b.name),
    subjects: [kvSubjects.bucket(b.name)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: t.replicas,
    max_msgs_per_subject: 1,
    max_age: nanos(b.maxAgeMs),
    max_bytes: b.maxBytes,
    discard: b.discard,
    allow_rollup_hdrs: true,
    allow_direct: true,
    deny_delete: false,
    deny_purge: false,
    ...(b.keyTtl
      ? { allow_msg_ttl: true, subject_delete_marker_ttl: nanos(EXPIRY_MARKER_TTL_MS) }
      : { allow_msg_ttl: false }),
  };
}

export type ConsumerSpec = Partial<ConsumerConfig> & { durable_name: string };

/** Job consumers: explicit acks; no delivery cap (the worker counts attempts itself and dead-letters). */
export function jobConsumerConfig(t: TopologyConfig, durable: string, subject: string): ConsumerSpec {
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
export function waitingConsumerConfig(queue: string, type: string): ConsumerSpec {
  return {
    durable_name: waitingConsumerName(queue, type),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subjects.waitingFilter(queue, type),
    max_ack_pending: 1,
  };
}

/** The legacy park forwarder (v1 workers that re-park early jobs on `jetbus.delayed.…`). */
export function schedulerConsumerConfig(t: TopologyConfig): ConsumerSpec {
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

export function coordinatorConsumerConfig(t: TopologyConfig): ConsumerSpec {
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

/** The consumers with fixed names: `jetbus init` creates them if missing. */
export function fixedConsumers(t: TopologyConfig): { stream: string; config: ConsumerSpec }[] {
  return [
    { stream: STREAMS.outcomes, config: coordinatorConsumerConfig(t) },
    { stream: STREAMS.delayed, config: schedulerConsumerConfig(t) },
  ];
}

/**
 * Consumers made on demand (one per (queue, type)): `jetbus init` checks the ones that exist against the
 * config their name and filter say they should have, and never creates any. A family answers `null` for a
 * consumer that is not one of its own (a user's consumer on the same stream is left alone).
 */
export interface ConsumerFamily {
  stream: string;
  what: string;
  desired(existing: ConsumerInfo): ConsumerSpec | null;
}

export function consumerFamilies(t: TopologyConfig): ConsumerFamily[] {
  return [
    {
      stream: STREAMS.jobs,
      what: "job consumer",
      desired(ci) {
        const filter = ci.config.filter_subject ?? "";
        const job = parseJobSubject(filter);
        if (!job || filter !== subjects.job(job.queue, job.type)) return null;
        if (jobConsumerName(job.queue, job.type) !== ci.name) return null;
        return jobConsumerConfig(t, ci.name, filter);
      },
    },
    {
      stream: STREAMS.delayed,
      what: "waiting-jobs counter",
      desired(ci) {
        const filter = ci.config.filter_subject ?? "";
        const job = parseJobSubject(filter);
        if (!job || filter !== subjects.waitingFilter(job.queue, job.type)) return null;
        const want = waitingConsumerConfig(job.queue, job.type);
        return want.durable_name === ci.name ? want : null;
      },
    },
  ];
}

/** Every stream jetbus needs, buckets' streams included, with the resource each one is reported as. */
export function streamResources(
  t: TopologyConfig,
): { resource: { kind: "stream" | "bucket"; name: string }; spec: StreamSpec; bucket?: BucketSpec }[] {
  return [
    ...streamConfigs(t).map((spec) => ({ resource: { kind: "stream" as const, name: spec.name }, spec })),
    ...bucketSpecs(t).map((bucket) => ({
      resource: { kind: "bucket" as const, name: bucket.name },
      spec: bucketStreamConfig(t, bucket),
      bucket,
    })),
  ];
}

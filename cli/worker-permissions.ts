/**
 * @module
 * The NATS permissions of a worker role, rendered for the queues it serves and the job types its handler
 * modules register (`jetbus permissions worker`). A worker pulls through one durable consumer per (queue,
 * type), and a consumer's name is one subject token, so the server can confine pulls and acks only by naming
 * each consumer: a worker user therefore lists its consumers, and is rendered again when its types change.
 * Creating consumers, publishing jobs, schedules and dead letters are confined by queue (subject wildcards).
 * Pure: names come from shared/protocol, so the rendering follows the code.
 */
import { BUCKETS, jobConsumerName, STREAMS } from "../shared/protocol/names.ts";
import { STREAM_SUBJECTS, subjects } from "../shared/protocol/subjects.ts";

export interface WorkerRole {
  queues: string[];
  types: string[];
  /** the config variable; @defaultValue `JETBUS_WORKER_<QUEUES>` */
  variable?: string;
}

/** The inbox prefix every worker role listens on (services/worker sets it; shared/service/lifecycle.ts). */
export const WORKER_INBOX = "_INBOX.worker";

export function workerVariable(queues: string[]): string {
  return `JETBUS_WORKER_${queues.map((q) => q.toUpperCase().replace(/[^A-Z0-9]/g, "_")).join("_")}`;
}

const kvRead = (bucket: string) => [
  `$JS.API.DIRECT.GET.KV_${bucket}.>`,
  `$JS.API.STREAM.MSG.GET.KV_${bucket}`,
];
const kvWatch = (bucket: string) => [
  `$JS.API.CONSUMER.CREATE.KV_${bucket}.*.$KV.${bucket}.>`,
  `$JS.API.CONSUMER.INFO.KV_${bucket}.*`,
  `$JS.API.CONSUMER.DELETE.KV_${bucket}.*`,
  `$JS.FC.KV_${bucket}.>`,
];

/** The subjects a worker serving `role.queues` with `role.types` may publish to. */
export function workerPublish(role: WorkerRole): string[] {
  const perQueue = role.queues.flatMap((q) => [
    `$JS.API.CONSUMER.CREATE.${STREAMS.jobs}.*.${subjects.queueWildcard("jobs", q)}`,
    `$JS.API.CONSUMER.CREATE.${STREAMS.delayed}.*.${subjects.queueWildcard("wait", q)}`,
    subjects.queueWildcard("jobs", q),
    subjects.queueWildcard("wait", q),
    subjects.queueWildcard("dlq", q),
  ]);
  const consumers = role.queues.flatMap((q) =>
    role.types.flatMap((t) => {
      const c = jobConsumerName(q, t);
      return [`$JS.API.CONSUMER.MSG.NEXT.${STREAMS.jobs}.${c}`, `$JS.ACK.${STREAMS.jobs}.${c}.>`];
    }),
  );
  return [
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    `$JS.API.CONSUMER.INFO.${STREAMS.jobs}.*`,
    `$JS.API.CONSUMER.INFO.${STREAMS.delayed}.*`,
    ...perQueue,
    ...consumers,
    STREAM_SUBJECTS.outcomes,
    subjects.done(">"),
    subjects.invalidDeadLetter("jobs"),
    `$KV.${BUCKETS.workers}.>`,
    `$KV.${BUCKETS.locks}.>`,
    ...kvRead(BUCKETS.locks),
    `$KV.${BUCKETS.limits}.>`,
    ...kvRead(BUCKETS.limits),
    ...kvRead(BUCKETS.results),
    // workflow records, read (never written) to tell a redelivery after a lost ack from a dead worker
    ...kvRead(BUCKETS.workflows),
    // batched results (time-ordered dispatch ids) are read with a direct batch get on their stream
    `$JS.API.DIRECT.GET.${STREAMS.results}`,
    ...kvRead(BUCKETS.cancels),
    ...kvWatch(BUCKETS.cancels),
  ];
}

const list = (subjectList: string[], indent: string) =>
  subjectList.map((s) => `${indent}${JSON.stringify(s)}`).join("\n");

/** The role as a NATS configuration variable, to paste into (or include from) the server configuration. */
export function renderWorkerPermissions(role: WorkerRole, command: string): string {
  const variable = role.variable ?? workerVariable(role.queues);
  return [
    `# Worker role for queue(s) ${role.queues.join(", ")}; job types ${role.types.join(", ")}.`,
    `# Rendered by \`${command}\`: render it again when the types change.`,
    `${variable}: {`,
    `  publish: { allow: [`,
    list(workerPublish(role), "    "),
    `  ] }`,
    `  subscribe: { allow: [${JSON.stringify(`${WORKER_INBOX}.>`)}] }`,
    `}`,
    "",
  ].join("\n");
}

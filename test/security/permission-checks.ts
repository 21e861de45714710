/**
 * @module
 * The allow/deny table for deploy/nats/jetbus-permissions.conf: each row names a role, an action and whether
 * the role's NATS user may do it. Subjects come from shared/protocol, so the table follows the code. A row
 * is tried on a connection of that role's user: a publish as a request (a refused one rejects at once with a
 * permission violation; anything else, even a time-out or an error reply, means the server let it through),
 * a subscription by whether the server closes it. Publishes a role may make carry `Nats-Expected-Stream:
 * none`, so an allowed one is rejected by the stream and stores nothing.
 */
import { delay, headers, type NatsConnection } from "@nats-io/transport-node";
import { permissionViolation } from "../../shared/nats/permission-errors.ts";
import { BUCKETS, CONSUMERS, jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { REQUEST_SUBJECTS, subjects } from "../../shared/protocol/subjects.ts";

export type Role = "dispatcher" | "coordinator" | "worker" | "client" | "client-worker" | "operator";

export interface Check {
  role: Role;
  action: string;
  pub?: string;
  sub?: string;
  /** request body (JSON); `{}` by default */
  body?: unknown;
  allowed: boolean;
}

const OTHER = "perm-other";
const kv = (bucket: string, key: string) => `$KV.${bucket}.${key}`;
const kvGet = (bucket: string, key: string) => `$JS.API.DIRECT.GET.KV_${bucket}.${kv(bucket, key)}`;
const api = (op: string, ...rest: string[]) => ["$JS.API", op, ...rest].join(".");
const pull = (consumer: string, stream: string = STREAMS.jobs) => api("CONSUMER.MSG.NEXT", stream, consumer);
const noWait = { batch: 1, no_wait: true };
const own = jobConsumerName("default", "demo:progress");
const foreign = jobConsumerName(OTHER, "demo:hello");

const worker: Check[] = [
  { role: "worker", action: "report an outcome", pub: subjects.outcomes("perm-worker"), allowed: true },
  { role: "worker", action: "pull its own consumer", pub: pull(own), body: noWait, allowed: true },
  {
    role: "worker",
    action: "release a job on its queue",
    pub: subjects.job("default", "perm"),
    allowed: true,
  },
  { role: "worker", action: "keep its registry record", pub: kv(BUCKETS.workers, "perm"), allowed: true },
  { role: "worker", action: "take a lock", pub: kv(BUCKETS.locks, "perm"), allowed: true },
  {
    role: "worker",
    action: "dead-letter on its queue",
    pub: subjects.deadLetter("default", "t"),
    allowed: true,
  },
  {
    role: "worker",
    action: "dead-letter a workflow's job on its queue (the @<workflow> form)",
    pub: subjects.deadLetter("default", "t", "bat_perm"),
    allowed: true,
  },
  {
    role: "worker",
    action: "dispatch into another queue",
    pub: subjects.job(OTHER, "demo:hello"),
    allowed: false,
  },
  {
    role: "worker",
    action: "schedule on another queue",
    pub: subjects.wait(OTHER, "t", "x"),
    allowed: false,
  },
  { role: "worker", action: "publish a due job directly", pub: subjects.due("default", "t"), allowed: false },
  {
    role: "worker",
    action: "dead-letter on another queue",
    pub: subjects.deadLetter(OTHER, "t"),
    allowed: false,
  },
  {
    role: "worker",
    action: "dead-letter a workflow's job on another queue",
    pub: subjects.deadLetter(OTHER, "t", "bat_perm"),
    allowed: false,
  },
  { role: "worker", action: "write workflow state", pub: kv(BUCKETS.workflows, "batch.x"), allowed: false },
  { role: "worker", action: "write a result", pub: kv(BUCKETS.results, "x"), allowed: false },
  { role: "worker", action: "cancel a batch in KV", pub: kv(BUCKETS.cancels, "x"), allowed: false },
  { role: "worker", action: "send a dispatch request", pub: REQUEST_SUBJECTS.dispatch, allowed: false },
  {
    role: "worker",
    action: "pull another queue's consumer",
    pub: pull(foreign),
    body: noWait,
    allowed: false,
  },
  {
    role: "worker",
    action: "pull a type its role does not list",
    pub: pull(jobConsumerName("default", "perm:unlisted")),
    body: noWait,
    allowed: false,
  },
  {
    role: "worker",
    action: "create a consumer on another queue",
    pub: api("CONSUMER.CREATE", STREAMS.jobs, "x", subjects.queueWildcard("jobs", OTHER)),
    allowed: false,
  },
  { role: "worker", action: "create a stream", pub: api("STREAM.CREATE", "EVIL"), allowed: false },
  {
    role: "worker",
    action: "delete the jobs stream",
    pub: api("STREAM.DELETE", STREAMS.jobs),
    allowed: false,
  },
  // Read only: a redelivered member whose outcome is recorded is settled from the record (issue 12, item 3).
  { role: "worker", action: "read workflow state", pub: kvGet(BUCKETS.workflows, "batch.x"), allowed: true },
  { role: "worker", action: "forge an event", pub: subjects.events("job", "perm"), allowed: false },
  { role: "worker", action: "answer dispatch requests", sub: REQUEST_SUBJECTS.dispatch, allowed: false },
  { role: "worker", action: "read the clients' replies", sub: "_INBOX.client.>", allowed: false },
];

const dispatcher: Check[] = [
  { role: "dispatcher", action: "publish a job on any queue", pub: subjects.job(OTHER, "t"), allowed: true },
  {
    role: "dispatcher",
    action: "write a workflow record",
    pub: kv(BUCKETS.workflows, "batch.x"),
    allowed: true,
  },
  { role: "dispatcher", action: "answer requests", sub: REQUEST_SUBJECTS.batchCreate, allowed: true },
  { role: "dispatcher", action: "report an outcome", pub: subjects.outcomes("perm"), allowed: false },
  { role: "dispatcher", action: "pull a job", pub: pull(own), body: noWait, allowed: false },
  { role: "dispatcher", action: "write a result", pub: kv(BUCKETS.results, "x"), allowed: false },
  { role: "dispatcher", action: "delete a stream", pub: api("STREAM.DELETE", STREAMS.jobs), allowed: false },
  { role: "dispatcher", action: "read the clients' replies", sub: "_INBOX.client.>", allowed: false },
];

const coordinator: Check[] = [
  { role: "coordinator", action: "write a result", pub: kv(BUCKETS.results, "x"), allowed: true },
  {
    role: "coordinator",
    action: "pull the outcomes consumer",
    pub: pull(CONSUMERS.coordinator, STREAMS.outcomes),
    body: noWait,
    allowed: true,
  },
  { role: "coordinator", action: "publish a callback job", pub: subjects.job(OTHER, "t"), allowed: true },
  { role: "coordinator", action: "forge a worker outcome", pub: subjects.outcomes("wrk_x"), allowed: false },
  { role: "coordinator", action: "answer dispatch requests", sub: REQUEST_SUBJECTS.dispatch, allowed: false },
  { role: "coordinator", action: "create a stream", pub: api("STREAM.CREATE", "EVIL"), allowed: false },
  {
    role: "coordinator",
    action: "read the dispatcher's replies",
    sub: "_INBOX.dispatcher.>",
    allowed: false,
  },
];

const client: Check[] = [
  { role: "client", action: "send a dispatch request", pub: REQUEST_SUBJECTS.dispatch, allowed: true },
  { role: "client", action: "send a batch request", pub: REQUEST_SUBJECTS.batchCreate, allowed: true },
  { role: "client", action: "cancel a batch", pub: REQUEST_SUBJECTS.batchCancel, allowed: true },
  { role: "client", action: "read workflow state", pub: kvGet(BUCKETS.workflows, "batch.x"), allowed: true },
  { role: "client", action: "read a result", pub: kvGet(BUCKETS.results, "x"), allowed: true },
  { role: "client", action: "wait for done notices", sub: subjects.done("x"), allowed: true },
  {
    role: "client",
    action: "see results stored (a wait without a done notice)",
    sub: "jetbus.results.1.0",
    allowed: true,
  },
  { role: "client", action: "see a result record stored", sub: kv(BUCKETS.results, "x"), allowed: true },
  {
    role: "client",
    action: "observe events",
    pub: api("CONSUMER.CREATE", STREAMS.events, "x", "jetbus.events.>"),
    allowed: true,
  },
  {
    role: "client",
    action: "publish a job (run it)",
    pub: subjects.job("default", "demo:hello"),
    allowed: false,
  },
  { role: "client", action: "pull a job", pub: pull(own), body: noWait, allowed: false },
  { role: "client", action: "report an outcome", pub: subjects.outcomes("perm"), allowed: false },
  { role: "client", action: "write workflow state", pub: kv(BUCKETS.workflows, "batch.x"), allowed: false },
  { role: "client", action: "create a stream", pub: api("STREAM.CREATE", "EVIL"), allowed: false },
  { role: "client", action: "change a stream", pub: api("STREAM.UPDATE", STREAMS.jobs), allowed: false },
  { role: "client", action: "delete a stream", pub: api("STREAM.DELETE", STREAMS.jobs), allowed: false },
  { role: "client", action: "purge a stream", pub: api("STREAM.PURGE", STREAMS.jobs), allowed: false },
  {
    role: "client",
    action: "read dead letters",
    pub: api("STREAM.MSG.GET", STREAMS.deadLetters),
    allowed: false,
  },
  {
    role: "client",
    action: "remove a dead letter",
    pub: api("STREAM.MSG.DELETE", STREAMS.deadLetters),
    allowed: false,
  },
  {
    role: "client",
    action: "pause a consumer",
    pub: api("CONSUMER.PAUSE", STREAMS.jobs, own),
    allowed: false,
  },
  {
    role: "client",
    action: "delete a consumer",
    pub: api("CONSUMER.DELETE", STREAMS.jobs, own),
    allowed: false,
  },
  { role: "client", action: "answer dispatch requests", sub: REQUEST_SUBJECTS.dispatch, allowed: false },
  { role: "client", action: "read the workers' replies", sub: "_INBOX.worker.>", allowed: false },
];

const operator: Check[] = [
  {
    role: "operator",
    action: "replay a dead letter (publish a job)",
    pub: subjects.job(OTHER, "t"),
    allowed: true,
  },
  {
    role: "operator",
    action: "remove a dead letter",
    pub: api("STREAM.MSG.DELETE", STREAMS.deadLetters),
    body: { seq: 999_999_999 },
    allowed: true,
  },
  {
    role: "operator",
    action: "pause a consumer",
    pub: api("CONSUMER.PAUSE", STREAMS.jobs, "none"),
    allowed: true,
  },
  {
    role: "operator",
    action: "prune a workflow record",
    pub: kv(BUCKETS.workflows, "batch.x"),
    allowed: true,
  },
  { role: "operator", action: "provision a stream", pub: api("STREAM.CREATE", "EVIL"), allowed: true },
  { role: "operator", action: "read the clients' replies", sub: "_INBOX.client.>", allowed: false },
];

const clientWorker: Check[] = [
  { role: "client-worker", action: "send a dispatch request", pub: REQUEST_SUBJECTS.dispatch, allowed: true },
  {
    role: "client-worker",
    action: "release a job on queue default",
    pub: subjects.job("default", "t"),
    allowed: true,
  },
  {
    role: "client-worker",
    action: "dispatch into another queue",
    pub: subjects.job(OTHER, "t"),
    allowed: false,
  },
  { role: "client-worker", action: "write workflow state", pub: kv(BUCKETS.workflows, "x"), allowed: false },
];

export const CHECKS: Check[] = [
  ...worker,
  ...dispatcher,
  ...coordinator,
  ...client,
  ...operator,
  ...clientWorker,
];

/** What the server did with the check's publish or subscription. */
export async function attempt(nc: NatsConnection, c: Check): Promise<"allowed" | "denied"> {
  if (c.sub) {
    const sub = nc.subscribe(c.sub);
    await nc.flush();
    // A refused subscription is closed with the server's -ERR, which arrives before the flush's PONG.
    const closedWith = await Promise.race([sub.closed, delay(200).then(() => "open" as const)]);
    sub.unsubscribe();
    return closedWith instanceof Error && permissionViolation(closedWith) ? "denied" : "allowed";
  }
  const h = headers();
  h.set("Nats-Expected-Stream", "none");
  try {
    await nc.request(c.pub!, JSON.stringify(c.body ?? {}), { timeout: 1_000, headers: h });
    return "allowed";
  } catch (err) {
    return permissionViolation(err) ? "denied" : "allowed";
  }
}

/**
 * @module
 * NATS subjects of protocol v1. Request subjects are answered by any dispatcher replica (queue group
 * `jetbus-dispatcher`); stream subjects are stored by JetStream. See docs/protocol.md.
 */
export const PROTOCOL_VERSION = 1;

export const REQUEST_SUBJECTS = {
  dispatch: "jetbus.v1.dispatch",
  dispatchBulk: "jetbus.v1.dispatch.bulk",
  chain: "jetbus.v1.chain",
  batchCreate: "jetbus.v1.batch.create",
  batchAppend: "jetbus.v1.batch.append",
  batchSeal: "jetbus.v1.batch.seal",
  batchCancel: "jetbus.v1.batch.cancel",
} as const;

export const STREAM_SUBJECTS = {
  jobs: "jetbus.jobs.>",
  /** Legacy parking of protocol-v1 workers that re-park an early job; the dispatcher turns them into waits. */
  delayed: "jetbus.delayed.>",
  /** `Nats-Schedule` messages of jobs waiting longer than a worker may hold them (one subject per job). */
  waiting: "jetbus.wait.>",
  /** What a schedule fires: sourced by the jobs stream into `jetbus.jobs.>` (same queue and type). */
  due: "jetbus.due.>",
  outcomes: "jetbus.outcomes.>",
  deadLetters: "jetbus.dlq.>",
  events: "jetbus.events.>",
  results: "jetbus.results.>",
} as const;

export const subjects = {
  job: (queue: string, type: string) => `jetbus.jobs.${queue}.${type}`,
  delayed: (queue: string, type: string) => `jetbus.delayed.${queue}.${type}`,
  /** One subject per waiting job (a newer schedule on the same subject would replace it); `token` is unique. */
  wait: (queue: string, type: string, token: string) => `jetbus.wait.${queue}.${type}.${token}`,
  /** Every job of a (queue, type) waiting: a counting consumer filters on it. */
  waitingFilter: (queue: string, type: string) => `jetbus.wait.${queue}.${type}.*`,
  /** Every job of one queue on each stored subject family (for a worker role's permissions). */
  queueWildcard: (family: "jobs" | "wait" | "due" | "dlq", queue: string) => `jetbus.${family}.${queue}.>`,
  due: (queue: string, type: string) => `jetbus.due.${queue}.${type}`,
  outcomes: (source: string) => `jetbus.outcomes.${source}`,
  /**
   * A dead letter: `jetbus.dlq.<queue>.<type>`, or for a chain's or batch's job
   * `jetbus.dlq.<queue>.@<workflow id>.<type>` (no job type starts with `@`), so a filtered consumer selects
   * one workflow's letters without reading the rest; both stay under `jetbus.dlq.<queue>.>`.
   */
  deadLetter: (queue: string, type: string, workflowId?: string) =>
    workflowId ? `jetbus.dlq.${queue}.@${workflowId}.${type}` : `jetbus.dlq.${queue}.${type}`,
  /** Messages that could not be read at all land under a reserved queue token. */
  invalidDeadLetter: (source: string) => `jetbus.dlq._invalid.${source}`,
  events: (group: string, source: string) => `jetbus.events.${group}.${source}`,
  /** Every event of one group, from any source. */
  eventGroup: (group: string) => `jetbus.events.${group}.>`,
  /** Core NATS (not stored): "this dispatch or workflow has an outcome", for `bus.wait` without polling. */
  done: (id: string) => `jetbus.done.${id}`,
} as const;

/** A KV bucket's subjects (nats.js's layout): written raw where a write needs headers nats.js's KV lacks. */
export const kvSubjects = {
  bucket: (bucket: string) => `$KV.${bucket}.>`,
  key: (bucket: string, key: string) => `$KV.${bucket}.${key}`,
} as const;

/** The token that marks a dead letter's workflow id (see `subjects.deadLetter`). */
export const WORKFLOW_TOKEN_MARK = "@";

/**
 * The filter subjects that select dead letters of a queue, a type and a workflow (each optional) on the
 * server. A superset where a type has dots (`*` may stand for a type's first token): readers check the body.
 * Never overlapping, as a consumer's `filter_subjects` must be.
 */
export function deadLetterSelect(f: { queue?: string; type?: string; workflowId?: string }): string[] {
  const q = f.queue ?? "*";
  if (f.workflowId) return [`jetbus.dlq.${q}.@${f.workflowId}.${f.type ?? ">"}`];
  if (f.type) return [`jetbus.dlq.${q}.${f.type}`, `jetbus.dlq.${q}.*.${f.type}`];
  return [f.queue ? `jetbus.dlq.${f.queue}.>` : STREAM_SUBJECTS.deadLetters];
}

/** Splits a dead letter's subject, either form; null for `_invalid` letters and other subjects. */
export function parseDeadLetterSubject(
  subject: string,
): { queue: string; type: string; workflowId?: string } | null {
  const parts = subject.split(".");
  if (parts.length < 4 || parts[0] !== "jetbus" || parts[1] !== "dlq" || parts[2]!.startsWith("_"))
    return null;
  const marked = parts[3]!.startsWith(WORKFLOW_TOKEN_MARK);
  const typeParts = parts.slice(marked ? 4 : 3);
  if (typeParts.length === 0 || (marked && parts[3]!.length < 2)) return null;
  return {
    queue: parts[2]!,
    type: typeParts.join("."),
    ...(marked ? { workflowId: parts[3]!.slice(1) } : {}),
  };
}

/**
 * Splits `jetbus.<jobs|delayed|due|dlq>.<queue>.<type>`, and `jetbus.waitingFilter` subjects
 * (`jetbus.wait.<queue>.<type>.*`); a type may itself contain dots.
 */
export function parseJobSubject(subject: string): { queue: string; type: string } | null {
  const parts = subject.split(".");
  if (parts.length < 4 || parts[0] !== "jetbus") return null;
  const typeParts = parts[1] === "wait" ? parts.slice(3, -1) : parts.slice(3);
  if (typeParts.length === 0) return null;
  return { queue: parts[2]!, type: typeParts.join(".") };
}

/**
 * Whether a job fired by a schedule was scheduled for its own (queue, type): every jetbus producer schedules
 * `jetbus.wait.<queue>.<type>.<token>` into `jetbus.due.<queue>.<type>`. A mismatch means someone allowed to
 * publish on one queue's wait subjects aimed a schedule at another queue.
 */
export function scheduledInPlace(scheduler: string, jobSubject: string): boolean {
  const from = parseJobSubject(scheduler);
  const to = parseJobSubject(jobSubject);
  return (
    from !== null &&
    to !== null &&
    scheduler.startsWith("jetbus.wait.") &&
    from.queue === to.queue &&
    from.type === to.type
  );
}

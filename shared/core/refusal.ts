/**
 * @module
 * Which member outcomes can never be true, whatever the order of arrival: a member index outside the
 * workflow, a job id that is not that member's, a type or queue that is not its own, or an attempt past the
 * retries its job was dispatched with. Anyone may publish on the outcome subjects, so such an entry is refused
 * (dead-lettered by the shell with reason `outcome_refused`) and never counted.
 */
import { callbackJobId, memberJobId, nodeJobId, progressJobId } from "./ids.ts";
import type { BatchState, CallbackKind, ChainState, MemberOutcome, WorkflowState } from "./types.ts";

/** Why this outcome cannot belong to the workflow, or null when it may. */
export function refusal(s: WorkflowState, o: MemberOutcome): string | null {
  return s.kind === "chain" ? chainRefusal(s, o) : batchRefusal(s, o);
}

function chainRefusal(s: ChainState, o: MemberOutcome): string | null {
  if (!Number.isInteger(o.index) || o.index < 0 || o.index >= s.nodes.length)
    return `node index ${o.index} is outside the chain (${s.nodes.length} nodes)`;
  if (o.jobId !== nodeJobId(s.id, o.index)) return `job id ${o.jobId} is not node ${o.index}'s`;
  const node = s.nodes[o.index]!;
  return mismatch(o, node.queue, node.type) ?? pastRetries(o, node.options.retry ?? 0);
}

function batchRefusal(s: BatchState, o: MemberOutcome): string | null {
  if (!Number.isInteger(o.index) || o.index < 0 || o.index >= s.total)
    return `member index ${o.index} is outside the batch (${s.total} members)`;
  if (o.jobId !== memberJobId(s.id, o.index)) return `job id ${o.jobId} is not member ${o.index}'s`;
  const m = memberAt(s, o.index);
  return (m && mismatch(o, m[0], m[1])) ?? pastRetries(o, s.maxRetry);
}

/** A callback job's outcome, as the coordinator reads it from an outcome entry. */
export interface CallbackOutcome {
  kind: CallbackKind;
  jobId: string;
  attempt?: number;
  type?: string;
  queue?: string;
}

/**
 * Why this callback outcome cannot be the workflow's, or null when it may: a callback the workflow does not
 * have, a job id that is not that callback's (a progress call's names a count the batch has not reached), or an
 * attempt past the retries of the callback's spec.
 */
export function callbackRefusal(s: WorkflowState, o: CallbackOutcome): string | null {
  const spec = s.callbacks[o.kind];
  if (!spec) return `the ${s.kind} has no ${o.kind} callback`;
  if (o.kind === "progress") {
    const seq = s.kind === "batch" ? progressSeq(s, o.jobId) : null;
    if (seq === null) return `job id ${o.jobId} is not one of the ${s.kind}'s progress calls`;
  } else if (o.jobId !== callbackJobId(s.id, o.kind)) {
    return `job id ${o.jobId} is not the ${o.kind} callback's (${callbackJobId(s.id, o.kind)})`;
  }
  return mismatch(o, spec.queue, spec.type) ?? pastRetries(o, spec.options.retry ?? 0);
}

/** The count a progress call's job id names, if the batch has reached it. */
function progressSeq(s: BatchState, jobId: string): number | null {
  const prefix = progressJobId(s.id, 0).slice(0, -1);
  if (!jobId.startsWith(prefix)) return null;
  const digits = jobId.slice(prefix.length);
  if (!/^(0|[1-9]\d*)$/.test(digits)) return null;
  const seq = Number(digits);
  return seq <= s.processed ? seq : null;
}

function mismatch(o: { type?: string; queue?: string }, queue: string, type: string): string | null {
  if (o.type !== undefined && o.type !== type) return `type ${o.type} is not the member's (${type})`;
  if (o.queue !== undefined && o.queue !== queue) return `queue ${o.queue} is not the member's (${queue})`;
  return null;
}

/** `retry` undefined: a record written before members' retries were kept, so nothing to check against. */
function pastRetries(o: { attempt?: number }, retry: number | undefined): string | null {
  if (o.attempt === undefined || retry === undefined || o.attempt <= retry) return null;
  return `attempt ${o.attempt} exceeds the job's ${retry} retries`;
}

/** The run-length entry [queue, type, count] that holds member `index`. */
function memberAt(s: BatchState, index: number): [string, string, number] | undefined {
  let start = 0;
  for (const m of s.members) {
    if (index < start + m[2]) return m;
    start += m[2];
  }
  return undefined;
}

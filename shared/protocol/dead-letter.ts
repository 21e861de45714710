/**
 * @module
 * Dead letters on `jetbus.dlq.<queue>.<type>`, or `jetbus.dlq.<queue>.@<workflow id>.<type>` for a chain's or
 * batch's job (limits stream, kept until replayed or removed): the envelope, the last error and the attempts
 * used. Messages that could not be decoded keep their raw text instead.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, ErrorBody } from "./fields.ts";
import { JobEnvelope } from "./envelope.ts";
import { parseDeadLetterSubject, subjects } from "./subjects.ts";

export const DeadLetterReason = Type.Union([
  Type.Literal("exhausted"),
  Type.Literal("permanent"),
  Type.Literal("worker_died"),
  Type.Literal("malformed"),
  /** no worker ever registered the job's (queue, type) within JETBUS_UNKNOWN_TYPE_DEADLINE_MS */
  Type.Literal("no_handler"),
  /** an outcome the coordinator refused (member index, job id or attempt that cannot be): never counted */
  Type.Literal("outcome_refused"),
]);
export type DeadLetterReason = Static<typeof DeadLetterReason>;

export const DeadLetter = Type.Object({
  v: Type.Literal(1),
  reason: DeadLetterReason,
  envelope: Type.Optional(JobEnvelope),
  raw: Type.Optional(Type.String({ description: "undecodable message body (malformed only)" })),
  source_subject: Type.String(),
  error: ErrorBody,
  attempts: Type.Integer({ minimum: 0 }),
  failed_at: EpochMillis,
});
export type DeadLetter = Static<typeof DeadLetter>;

/** The chain or batch a job belongs to (a member, a node or a callback): the id its dead letter carries. */
export function envelopeWorkflowId(env: {
  chain?: { id: string };
  batch?: { id: string };
  callback?: { workflow_id: string };
}): string | undefined {
  return env.batch?.id ?? env.chain?.id ?? env.callback?.workflow_id;
}

/**
 * The workflow a stored letter belongs to, or null when its subject and its envelope disagree (the queue,
 * the type, or an `@<workflow>` token that is not the envelope's): anyone allowed on `jetbus.dlq.<queue>.>`
 * could otherwise file a letter under another batch, so such a letter is unreadable. The plain form is
 * accepted for a workflow's job (v1 writers); a letter without an envelope belongs to no workflow and must
 * be on the `_invalid` form.
 */
export function letterWorkflow(
  subject: string,
  letter: { envelope?: { queue: string; type: string } & Parameters<typeof envelopeWorkflowId>[0] },
): { workflowId?: string } | null {
  const env = letter.envelope;
  if (!env) return subject.startsWith(subjects.invalidDeadLetter("")) ? {} : null;
  const s = parseDeadLetterSubject(subject);
  if (!s || s.queue !== env.queue || s.type !== env.type) return null;
  const workflowId = envelopeWorkflowId(env);
  if (s.workflowId !== undefined && s.workflowId !== workflowId) return null;
  return workflowId ? { workflowId } : {};
}

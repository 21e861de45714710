/**
 * @module
 * The protocol rules the kit checks, each a pure function from the run's facts to the problems it found
 * (none = pass). docs/protocol.md §8 lists them with how each is observed; keep the two in step.
 */
import { DeadLetter, envelopeWorkflowId } from "../../shared/protocol/dead-letter.ts";
import { parseDeadLetterSubject } from "../../shared/protocol/subjects.ts";
import { JobEnvelope } from "../../shared/protocol/envelope.ts";
import { OutcomeMessage } from "../../shared/protocol/outcome.ts";
import { WorkerRecord } from "../../shared/protocol/worker-record.ts";
import { check, schemaErrors } from "../../shared/protocol/validate.ts";
import { stepAt } from "./script.ts";
import { terminal, traceIdOf, type Facts } from "./facts.ts";
import { caseRules, statuses, type Rule } from "./case-rules.ts";

const protocolRules: Rule[] = [
  {
    name: "consumer",
    says: "the (queue, type) has its durable consumer on JETBUS_JOBS, configured as documented",
    check(f) {
      const { consumer, end, queue, type, expectedAckWaitMs } = f.run;
      if (!end.consumer) return [`no consumer ${consumer} on JETBUS_JOBS`];
      const c = end.consumer.config;
      const want: Record<string, unknown> = {
        filter_subject: `jetbus.jobs.${queue}.${type}`,
        ack_policy: "explicit",
        deliver_policy: "all",
        max_deliver: -1,
        ack_wait: expectedAckWaitMs * 1_000_000,
      };
      return Object.entries(want)
        .filter(([k, v]) => c[k] !== v)
        .map(([k, v]) => `consumer ${consumer}: ${k} is ${JSON.stringify(c[k])}, want ${JSON.stringify(v)}`);
    },
  },
  {
    name: "registry",
    says: "a live record in KV jetbus-workers serves the (queue, type) and its heartbeat advances",
    check(f) {
      const { first, last } = f.run.end.registry;
      const problems: string[] = [];
      const live = last.filter(
        (r) => check(WorkerRecord, r) && f.run.end.now - r.heartbeat_at < 3 * r.heartbeat_ms,
      ) as WorkerRecord[];
      if (live.length === 0) problems.push("no live worker record serves the (queue, type)");
      for (const r of last)
        if (!check(WorkerRecord, r))
          problems.push(`bad worker record: ${schemaErrors(WorkerRecord, r).join("; ")}`);
      const advanced = live.some((r) =>
        (first as WorkerRecord[]).some((o) => o.id === r.id && r.heartbeat_at > o.heartbeat_at),
      );
      if (live.length > 0 && !advanced)
        problems.push("the worker record's heartbeat_at did not advance during the run");
      return problems;
    },
  },
  {
    name: "attempts",
    says: "every outcome reports attempt = envelope.attempt + deliveries − 1 of the delivery it settles",
    check(f) {
      const problems: string[] = [];
      for (const v of f.all()) {
        for (const o of v.outcomes) {
          if (!o.delivery?.env) continue;
          const own = Number(o.delivery.env.attempt) + o.delivery.delivered - 1;
          const retry = Number((o.delivery.env.options as { retry?: number } | undefined)?.retry ?? 0);
          const want = o.entry.error?.code === "WORKER_DIED" ? retry : own;
          if (o.entry.attempt !== want)
            problems.push(
              `${v.sent.c.name}: outcome ${o.entry.status} says attempt ${o.entry.attempt}; delivery ${o.delivery.delivered} of a message with attempt ${String(o.delivery.env.attempt)} means ${want}`,
            );
        }
      }
      return problems;
    },
  },
  {
    name: "ack-after-stored",
    says: "a job is acked only after its side publications and then its outcome are stored (PubAck seen)",
    check(f) {
      const problems: string[] = [];
      for (const v of f.all()) {
        for (const ack of v.acks.filter((a) => a.body === "" || a.body === "+ACK")) {
          const d = v.deliveries.find((x) => x.seq === ack.seq && x.delivered === ack.delivered);
          if (!d) continue;
          const name = `${v.sent.c.name} (delivery ${d.delivered} of seq ${d.seq})`;
          const ids = new Set([
            `dlq-JETBUS_JOBS-${d.seq}`,
            ...["a", "r", "w"].map((k) => `${v.sent.jobId}@${k}${d.seq}`),
          ]);
          const side = [...v.republished, ...v.deadLetters].filter(
            (p) => p.i > d.i && ids.has(p.msgId ?? ""),
          );
          const outcome = v.outcomes.find((o) => o.delivery === d);
          const parked = side.some((p) => p.msgId?.includes("@w") || p.msgId?.includes("@r"));
          const must = outcome ? [...side, outcome.pub] : side;
          if (!outcome && !parked && v.sent.c.delivery !== "malformed")
            problems.push(`${name}: acked with no outcome`);
          for (const p of must) {
            const stored = f.storedAt(p);
            if (p.i > ack.i) problems.push(`${name}: acked before ${p.subject} was even published`);
            else if (stored === undefined || stored > ack.i)
              problems.push(`${name}: acked before ${p.subject} (msg id ${p.msgId ?? "none"}) was stored`);
          }
          if (outcome)
            for (const p of side) {
              const stored = f.storedAt(p);
              if (stored === undefined || stored > outcome.pub.i)
                problems.push(`${name}: outcome published before ${p.subject} was stored`);
            }
        }
      }
      return problems;
    },
  },
  {
    name: "trace",
    says: "outcome entries and republished jobs carry the job message's trace id",
    check(f) {
      const problems: string[] = [];
      for (const v of f.all()) {
        if (v.sent.c.delivery === "malformed") continue;
        for (const o of v.outcomes)
          if (traceIdOf(o.entry.traceparent) !== v.sent.traceId)
            problems.push(`${v.sent.c.name}: outcome traceparent ${o.entry.traceparent ?? "missing"}`);
        for (const p of v.republished)
          if (traceIdOf(p.traceparent) !== v.sent.traceId)
            problems.push(
              `${v.sent.c.name}: ${p.subject} (${p.msgId}) traceparent ${p.traceparent ?? "missing"}`,
            );
      }
      return problems;
    },
  },
  {
    name: "error-body",
    says: "failures report { code, message, retryable } with the code and message the handler raised",
    check(f) {
      const problems: string[] = [];
      for (const v of f.all()) {
        for (const o of v.outcomes.filter(
          (x) => x.entry.status === "retried" || x.entry.status === "failed",
        )) {
          const e = o.entry.error;
          if (
            !e ||
            typeof e.code !== "string" ||
            typeof e.message !== "string" ||
            typeof e.retryable !== "boolean"
          ) {
            problems.push(
              `${v.sent.c.name}: outcome error ${JSON.stringify(e)} is not { code, message, retryable }`,
            );
            continue;
          }
          const step = stepAt(v.sent.c, o.entry.attempt);
          const want = expectedError(step, e.code);
          if (want && (e.code !== want.code || (want.message !== undefined && e.message !== want.message)))
            problems.push(
              `${v.sent.c.name}: error ${e.code} "${e.message}", want ${want.code} "${want.message ?? "…"}"`,
            );
        }
        for (const p of v.deadLetters) {
          const err = (p.body as { error?: { code?: string } } | null)?.error;
          const last = terminal(v)[0]?.entry.error;
          if (last && err?.code !== last.code)
            problems.push(`${v.sent.c.name}: dead letter error ${err?.code}, outcome error ${last.code}`);
        }
      }
      return problems;
    },
  },
  {
    name: "schemas",
    says: "outcome messages, dead letters and republished envelopes match the JSON Schemas and carry a Nats-Msg-Id; a dead letter's subject names its queue, type and (optionally) workflow",
    check(f) {
      const problems: string[] = [];
      const seenPubs = new Set<number>();
      const checkOne = (
        what: string,
        schema: Parameters<typeof check>[0],
        p: { body: unknown; msgId?: string; i: number },
      ) => {
        if (seenPubs.has(p.i)) return;
        seenPubs.add(p.i);
        if (!p.msgId) problems.push(`${what} without a Nats-Msg-Id`);
        if (!check(schema, p.body)) problems.push(`${what}: ${schemaErrors(schema, p.body).join("; ")}`);
      };
      for (const v of f.all()) {
        for (const o of v.outcomes) checkOne(`${v.sent.c.name}: outcome message`, OutcomeMessage, o.pub);
        for (const p of v.deadLetters) {
          checkOne(`${v.sent.c.name}: dead letter`, DeadLetter, p);
          problems.push(...deadLetterSubjectProblems(`${v.sent.c.name}: dead letter`, p.subject, p.body));
        }
        for (const p of v.republished) checkOne(`${v.sent.c.name}: republished envelope`, JobEnvelope, p);
      }
      return problems;
    },
  },
  {
    name: "settled",
    says: "every case ends (a terminal outcome, or the malformed letter) and the consumer has nothing left",
    check(f) {
      const problems: string[] = [];
      for (const v of f.all()) {
        const ended = v.sent.c.delivery === "malformed" ? v.deadLetters.length > 0 : terminal(v).length > 0;
        if (!ended) problems.push(`${v.sent.c.name}: never finished (outcomes: ${statuses(v) || "none"})`);
        if (v.sent.c.delivery !== "malformed" && terminal(v).length > 1)
          problems.push(`${v.sent.c.name}: ${terminal(v).length} terminal outcomes`);
      }
      const c = f.run.end.consumer;
      if (c && c.num_ack_pending + c.num_pending > 0)
        problems.push(
          `consumer: ${c.num_pending} pending and ${c.num_ack_pending} unacknowledged at the end`,
        );
      return problems;
    },
  },
];

function expectedError(
  step: ReturnType<typeof stepAt>,
  got: string,
): { code: string; message?: string } | null {
  if (got === "TIMEOUT" || got === "WORKER_DIED") return null; // the worker's own, checked by their cases
  if (step?.do === "fail")
    return { code: step.code ?? "HANDLER_ERROR", ...(step.message ? { message: step.message } : {}) };
  if (step?.do === "permanent")
    return { code: "PERMANENT", ...(step.message ? { message: step.message } : {}) };
  return null;
}

/** Every rule, in the order they are printed. */
/**
 * A dead letter's subject is `jetbus.dlq.<queue>.<type>` or, for a chain's or batch's job, the same with
 * `@<workflow id>` before the type (both v1; the second lets a console select one batch's failures); it
 * names the envelope's queue and type, and a workflow token names the envelope's workflow.
 */
function deadLetterSubjectProblems(what: string, subject: string, body: unknown): string[] {
  if (subject.startsWith("jetbus.dlq._invalid.")) return [];
  const env = (body as { envelope?: { queue?: string; type?: string } } | null)?.envelope;
  const parsed = parseDeadLetterSubject(subject);
  if (!parsed) return [`${what} on ${subject}: not jetbus.dlq.<queue>[.@<workflow id>].<type>`];
  if (!env) return [];
  const problems: string[] = [];
  if (parsed.queue !== env.queue || parsed.type !== env.type)
    problems.push(`${what} on ${subject}: the envelope is ${env.queue}/${env.type}`);
  const wf = envelopeWorkflowId(env as Parameters<typeof envelopeWorkflowId>[0]);
  if (parsed.workflowId !== undefined && parsed.workflowId !== wf)
    problems.push(`${what} on ${subject}: the envelope's workflow is ${wf ?? "none"}`);
  return problems;
}

export const RULES: Rule[] = [...protocolRules.slice(0, 2), ...caseRules(), ...protocolRules.slice(2)];

export function evaluate(f: Facts): { rule: string; says: string; problems: string[] }[] {
  return RULES.map((r) => {
    let problems: string[];
    try {
      problems = r.check(f);
    } catch (err) {
      problems = [`the rule could not be checked: ${String(err)}`];
    }
    return { rule: r.name, says: r.says, problems };
  });
}

/**
 * @module
 * The rules tied to one case of the script each: what the worker must have done with that job, read from
 * the deliveries, acks, publications and PubAcks the kit saw, and from the result record at the end.
 */
import { BACKOFF_MS, MALFORMED_BODY, NOT_BEFORE_MS, TIMEOUT_MS } from "./script.ts";
import { sameJson, type CaseView, type Facts } from "./facts.ts";
import type { Publish } from "./observer.ts";

export interface Rule {
  name: string;
  says: string;
  check(f: Facts): string[];
}

export const statuses = (v: CaseView) =>
  v.outcomes.map((o) => `${o.entry.status}(${o.entry.attempt})`).join(", ");

/** Problems unless the case's outcomes are exactly `want` (status and attempt, in order). */
function outcomesAre(v: CaseView, want: [string, number][]): string[] {
  const got = v.outcomes.map((o) => [o.entry.status, o.entry.attempt] as const);
  const ok = got.length === want.length && got.every(([s, a], k) => s === want[k]![0] && a === want[k]![1]);
  const fmt = want.map(([s, a]) => `${s}(${a})`).join(", ");
  return ok ? [] : [`outcomes ${statuses(v) || "none"}, want ${fmt}`];
}

function resultIs(f: Facts, v: CaseView, status: string, attempts: number, result?: unknown): string[] {
  const r = f.run.end.results[v.sent.dispatchId];
  if (!r) return [`no result record for ${v.sent.dispatchId} in jetbus-results`];
  const problems: string[] = [];
  if (r.status !== status) problems.push(`result record status ${r.status}, want ${status}`);
  if (r.attempts !== attempts) problems.push(`result record attempts ${r.attempts}, want ${attempts}`);
  if (result !== undefined && !sameJson(r.result, result))
    problems.push(`result record result ${JSON.stringify(r.result)}, want ${JSON.stringify(result)}`);
  return problems;
}

function deadLetterIs(v: CaseView, reason: string, attempts: number, envelopeAttempt: number): string[] {
  if (v.deadLetters.length !== 1) return [`${v.deadLetters.length} dead letters, want 1 (${reason})`];
  const p = v.deadLetters[0]!;
  const b = p.body as { reason?: string; attempts?: number; envelope?: { attempt?: number } } | null;
  const problems: string[] = [];
  const seq = v.deliveries.at(-1)?.seq;
  if (b?.reason !== reason) problems.push(`dead letter reason ${b?.reason}, want ${reason}`);
  if (b?.attempts !== attempts) problems.push(`dead letter attempts ${b?.attempts}, want ${attempts}`);
  if (b?.envelope && b.envelope.attempt !== envelopeAttempt)
    problems.push(`dead letter envelope.attempt ${b.envelope.attempt}, want ${envelopeAttempt}`);
  if (p.msgId !== `dlq-JETBUS_JOBS-${seq}`)
    problems.push(`dead letter msg id ${p.msgId}, want dlq-JETBUS_JOBS-${seq}`);
  return problems;
}

/** A retry's envelope: attempt + 1, msg id `<job_id>@a<seq of the failed delivery>`. */
function retriesAre(v: CaseView, count: number): string[] {
  const retries = v.republished.filter((p) => p.msgId?.includes("@a"));
  if (retries.length !== count) return [`${retries.length} retry publications, want ${count}`];
  const problems: string[] = [];
  for (const p of retries) {
    const failed = v.outcomes.find(
      (o) => o.entry.status === "retried" && o.delivery && p.msgId === `${v.sent.jobId}@a${o.delivery.seq}`,
    );
    if (!failed) problems.push(`retry ${p.msgId} matches no failed delivery (want <job_id>@a<seq>)`);
    else if ((p.body as { attempt?: number }).attempt !== failed.entry.attempt + 1)
      problems.push(
        `retry ${p.msgId} has attempt ${(p.body as { attempt?: number }).attempt}, want ${failed.entry.attempt + 1}`,
      );
  }
  return problems;
}

/**
 * A wait of more than a second: a `Nats-Schedule` message on its own `jetbus.wait.<q>.<t>.<token>` subject that
 * fires into `jetbus.due.<q>.<t>` no later than `not_before`, with `Jetbus-Not-Before`; or the legacy v1 park on
 * `jetbus.delayed.<q>.<t>`, which still works.
 */
function waitIsPlaced(p: Publish, notBefore: number | undefined, queue: string, type: string): string[] {
  if (p.subject === `jetbus.delayed.${queue}.${type}`) return [];
  if (!p.subject.startsWith(`jetbus.wait.${queue}.${type}.`))
    return [`a wait of more than 1 s went to ${p.subject}, not jetbus.wait.${queue}.${type}.<token>`];
  const problems: string[] = [];
  const at = /^@at (.+)$/.exec(p.headers["nats-schedule"] ?? "")?.[1];
  const fires = at ? Date.parse(at) : NaN;
  if (Number.isNaN(fires) || (notBefore !== undefined && fires > notBefore))
    problems.push(
      `Nats-Schedule ${JSON.stringify(p.headers["nats-schedule"])}: want "@at <RFC 3339>" no later than not_before`,
    );
  if (p.headers["nats-schedule-target"] !== `jetbus.due.${queue}.${type}`)
    problems.push(
      `Nats-Schedule-Target ${JSON.stringify(p.headers["nats-schedule-target"])}, want jetbus.due.${queue}.${type}`,
    );
  if (p.headers["jetbus-not-before"] !== String(notBefore))
    problems.push(
      `Jetbus-Not-Before ${JSON.stringify(p.headers["jetbus-not-before"])}, want the envelope's not_before`,
    );
  return problems;
}

function one(name: string, says: string, fn: (v: CaseView, f: Facts) => string[]): Rule {
  return {
    name,
    says,
    check(f) {
      const v = f.byCase(name);
      if (!v) return [`case ${name} was not sent`];
      return fn(v, f);
    },
  };
}

export function caseRules(): Rule[] {
  return [
    one(
      "result",
      "a success reports `succeeded` with the handler's result, echoed fields, attempt 0",
      (v, f) => {
        const want = (v.sent.c.steps[0] as { result: unknown }).result;
        const problems = outcomesAre(v, [["succeeded", 0]]);
        const o = v.outcomes[0]?.entry;
        if (o && !sameJson(o.result, want))
          problems.push(`result ${JSON.stringify(o.result)}, want ${JSON.stringify(want)}`);
        const env = v.deliveries[0]?.env;
        for (const k of ["job_id", "dispatch_id", "type", "queue"] as const)
          if (o && env && o[k] !== env[k]) problems.push(`outcome ${k} ${o[k]}, envelope ${String(env[k])}`);
        return [...problems, ...resultIs(f, v, "succeeded", 1, want)];
      },
    ),
    one(
      "retry",
      "a retryable failure with attempts left is stored again with attempt + 1 (no backoff: on jetbus.jobs)",
      (v, f) => {
        const problems = [
          ...outcomesAre(v, [
            ["retried", 0],
            ["retried", 1],
            ["succeeded", 2],
          ]),
          ...retriesAre(v, 2),
        ];
        for (const p of v.republished)
          if (
            p.subject !== `jetbus.jobs.${f.run.queue}.${f.run.type}` ||
            (p.body as { not_before?: number }).not_before
          )
            problems.push(
              `retry without backoff went to ${p.subject} with not_before ${String((p.body as { not_before?: number }).not_before)}`,
            );
        return [...problems, ...resultIs(f, v, "succeeded", 3)];
      },
    ),
    one(
      "backoff",
      "a retry with backoff_ms waits: not_before = failure + backoff, and the next attempt starts no earlier",
      (v, f) => {
        const problems = [
          ...outcomesAre(v, [
            ["retried", 0],
            ["succeeded", 1],
          ]),
          ...retriesAre(v, 1),
        ];
        const p = v.republished.find((x) => x.msgId?.includes("@a"));
        const failed = v.outcomes[0]?.entry;
        const nb = (p?.body as { not_before?: number } | undefined)?.not_before;
        if (p && failed) {
          if (nb === undefined || nb < failed.finished_at + BACKOFF_MS - 100)
            problems.push(`retry not_before ${nb}, want ≥ failure (${failed.finished_at}) + ${BACKOFF_MS}`);
          problems.push(...waitIsPlaced(p, nb, f.run.queue, f.run.type));
        }
        const next = v.outcomes[1]?.entry;
        if (next && nb && next.started_at < nb - 50)
          problems.push(`attempt 1 started ${nb - next.started_at} ms before not_before`);
        return [...problems, ...resultIs(f, v, "succeeded", 2)];
      },
    ),
    one(
      "permanent",
      "a PERMANENT failure is dead-lettered at once (reason permanent) however many retries are left",
      (v, f) => [
        ...outcomesAre(v, [["failed", 0]]),
        ...(v.republished.length ? [`${v.republished.length} retry publications, want none`] : []),
        ...deadLetterIs(v, "permanent", 1, 0),
        ...resultIs(f, v, "failed", 1),
      ],
    ),
    one(
      "exhausted",
      "the last allowed attempt's failure is dead-lettered (reason exhausted, attempts = attempt + 1)",
      (v, f) => [
        ...outcomesAre(v, [
          ["retried", 0],
          ["failed", 1],
        ]),
        ...deadLetterIs(v, "exhausted", 2, 1),
        ...resultIs(f, v, "failed", 2),
      ],
    ),
    one("heartbeat", "a job running 2.5 × ack wait sends +WPI and is never redelivered", (v, f) => {
      const problems = outcomesAre(v, [["succeeded", 0]]);
      if (v.deliveries.length !== 1)
        problems.push(`${v.deliveries.length} deliveries, want 1 (the ack wait expired)`);
      const wpi = v.acks.filter((a) => a.body === "+WPI").length;
      if (wpi < 2) problems.push(`${wpi} +WPI, want at least 2`);
      return [...problems, ...resultIs(f, v, "succeeded", 1)];
    }),
    one(
      "redelivery",
      "a delivery its worker abandons comes back after the ack wait and counts as an attempt",
      (v, f) => {
        const problems = outcomesAre(v, [["succeeded", 1]]);
        const [d1, d2] = v.deliveries;
        if (!d2 || d2.delivered !== 2) problems.push("no second delivery of the abandoned job");
        else if (d1 && d2.at - d1.at < f.run.ackWaitMs * 0.8)
          problems.push(`redelivered after ${d2.at - d1.at} ms, before the ack wait (${f.run.ackWaitMs} ms)`);
        return [...problems, ...resultIs(f, v, "succeeded", 2)];
      },
    ),
    one(
      "worker-died",
      "a job redelivered past its retries is not run: dead letter worker_died, outcome failed at attempt = retry",
      (v, f) => {
        const problems = outcomesAre(v, [["failed", 0]]);
        const code = v.outcomes[0]?.entry.error?.code;
        if (code && code !== "WORKER_DIED") problems.push(`error ${code}, want WORKER_DIED`);
        return [...problems, ...deadLetterIs(v, "worker_died", 1, 0), ...resultIs(f, v, "failed", 1)];
      },
    ),
    one(
      "timeout",
      "an attempt past timeout_ms fails with TIMEOUT at the deadline, not when the handler ends",
      (v) => {
        const problems = outcomesAre(v, [["failed", 0]]);
        const o = v.outcomes[0]?.entry;
        if (o && o.error?.code !== "TIMEOUT") problems.push(`error ${o.error?.code}, want TIMEOUT`);
        if (o && o.finished_at - o.started_at > 3 * TIMEOUT_MS)
          problems.push(
            `reported ${o.finished_at - o.started_at} ms after the start; the timeout is ${TIMEOUT_MS} ms`,
          );
        return [...problems, ...deadLetterIs(v, "exhausted", 1, 0)];
      },
    ),
    one(
      "not-before",
      `a job with not_before ${NOT_BEFORE_MS} ms ahead does not run before it (held, or parked)`,
      (v) => {
        const problems = outcomesAre(v, [["succeeded", 0]]);
        const o = v.outcomes[0];
        const nb = v.sent.notBefore!;
        if (o && (o.entry.started_at < nb - 25 || o.pub.at < nb))
          problems.push(`ran ${nb - o.entry.started_at} ms before not_before`);
        return problems;
      },
    ),
    one(
      "skipped",
      "a member of a cancelled batch is reported skipped (its attempt, the batch echoed), not run",
      (v) => {
        const problems = outcomesAre(v, [["skipped", 0]]);
        const o = v.outcomes[0]?.entry;
        if (o && (o.batch?.id !== v.sent.jobId.replace(/_m0$/, "") || o.batch?.index !== 0))
          problems.push(`outcome batch ${JSON.stringify(o.batch)}, want the envelope's`);
        if (v.deadLetters.length) problems.push("a skipped member was dead-lettered");
        return problems;
      },
    ),
    one(
      "malformed",
      "an undecodable message is dead-lettered (reason malformed, raw text) and acked, with no outcome",
      (v) => {
        const d = v.deliveries[0];
        if (!d) return ["the malformed message was never delivered"];
        const p = v.deadLetters.find((x) => x.subject.startsWith("jetbus.dlq._invalid."));
        if (!p) return ["no dead letter on jetbus.dlq._invalid.<worker>"];
        const b = p.body as { reason?: string; raw?: string; error?: { code?: string } };
        const problems: string[] = [];
        if (b.reason !== "malformed") problems.push(`reason ${b.reason}, want malformed`);
        if (b.raw !== MALFORMED_BODY) problems.push(`raw ${JSON.stringify(b.raw)}, want the message text`);
        if (b.error?.code !== "MALFORMED") problems.push(`error ${b.error?.code}, want MALFORMED`);
        if (p.msgId !== `dlq-JETBUS_JOBS-${d.seq}`)
          problems.push(`msg id ${p.msgId}, want dlq-JETBUS_JOBS-${d.seq}`);
        if (!v.acks.some((a) => a.body === "" || a.body === "+ACK")) problems.push("never acked");
        return problems;
      },
    ),
  ];
}

/**
 * @module
 * Dead letters through the shared filter (`shared/protocol/dead-letter-filter.ts`, as `jetbus dlq --filter`):
 * a page at a time (`GET /api/dlq`), one letter, replay or discard one, and the bulk actions. A bulk action
 * is two steps: `POST /api/dlq/count` states how many match, the stream sequence it counted up to and the
 * filter resolved (times as epoch ms); the confirmed `POST /api/dlq/replay|discard` takes back exactly that
 * (`confirm`), counts again, refuses (409) when the set is no longer the one confirmed, and then acts on the
 * matching letters up to that sequence only.
 */
import { Hono, type Context } from "hono";
import { Type } from "@sinclair/typebox";
import {
  describeFilter,
  FILTER_KEYS,
  filterFields,
  hasAbsoluteTimes,
  parseFilterFields,
  type DeadLetterFilter,
} from "../../../shared/protocol/dead-letter-filter.ts";
import { ErrorCodes } from "../../../shared/protocol/error-codes.ts";
import { JetbusError, ValidationError } from "../../../shared/protocol/errors.ts";
import { systemTimes } from "../../../shared/service/times.ts";
import type { BulkResult, DeadLetterInfo } from "../../../shared/sdk/types.ts";
import { audited } from "../audit.ts";
import type { ConsoleDeps, ConsoleEnv } from "../deps.ts";
import { requireOperator } from "../middleware.ts";
import { readBody } from "./body.ts";

/** A page's letters carry at most this much of a payload or raw text; one letter's view shows it all. */
const PREVIEW_CHARS = 2_000;
const MAX_PAGE = 100;

function clip(v: unknown, max: number): unknown {
  if (v === undefined) return undefined;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : v;
}

export function letterView(l: DeadLetterInfo, full = false) {
  const max = full ? Number.POSITIVE_INFINITY : PREVIEW_CHARS;
  return {
    seq: l.seq,
    subject: l.subject,
    reason: l.reason,
    queue: l.queue ?? null,
    type: l.jobType ?? null,
    dispatchId: l.dispatchId ?? null,
    jobId: l.jobId ?? null,
    workflowId: l.workflowId ?? null,
    attempts: l.attempts,
    failedAt: l.failedAt.getTime(),
    error: { code: l.error.code, message: String(clip(l.error.message, max)) },
    payload: clip(l.payload, max) ?? null,
    ...(l.raw !== undefined ? { raw: clip(l.raw, max) } : {}),
    ...(full && l.envelope ? { envelope: l.envelope } : {}),
  };
}

const FilterBody = Type.Object(
  Object.fromEntries(FILTER_KEYS.map((k) => [k, Type.Optional(Type.String({ maxLength: 200 }))])),
  { additionalProperties: false },
);
const Bulk = Type.Object(
  {
    filter: FilterBody,
    upToSeq: Type.Integer({ minimum: 0 }),
    count: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

function filterOf(fields: Record<string, string | undefined>): DeadLetterFilter {
  const r = parseFilterFields(fields, systemTimes());
  if (!r.ok) throw new ValidationError(r.errors.join("; "));
  return r.filter;
}

function seqParam(c: Context): number {
  const seq = Number(c.req.param("seq"));
  if (!Number.isInteger(seq) || seq < 1)
    throw new ValidationError("a dead letter is named by its stream sequence");
  return seq;
}

function intQuery(c: Context, key: string, fallback: number, max: number): number {
  const v = c.req.query(key);
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ValidationError(`${key} must be an integer 0–${max}`);
  return n;
}

export function deadLetterRoutes(d: ConsoleDeps): Hono<ConsoleEnv> {
  const operator = requireOperator(d.config.operators.length === 0);
  const user = (c: Context<ConsoleEnv>) => c.get("session")!.user;
  /** A confirmed bulk action: the resolved filter, `upToSeq` and count its count returned (`confirm`). */
  const bulk =
    (
      action: "replay_matching" | "discard_matching",
      run: (f: DeadLetterFilter, upToSeq: number) => Promise<BulkResult>,
    ) =>
    async (c: Context<ConsoleEnv>) => {
      const b = await readBody(c, Bulk);
      // A relative time re-read now would name another set than the one counted (`until=-2s` moves).
      if (!hasAbsoluteTimes(b.filter))
        throw new ValidationError(
          "a bulk action takes the resolved filter its count returned (`confirm`: times as epoch ms)",
        );
      const filter = filterOf(b.filter);
      const now = await d.bus.deadLetters.count(filter, b.upToSeq);
      if (now.count !== b.count)
        throw new JetbusError(
          ErrorCodes.Conflict,
          `${now.count} dead letters match up to #${b.upToSeq} now, not the ${b.count} confirmed: count again`,
        );
      const target = { filter: describeFilter(filter, systemTimes()), up_to_seq: b.upToSeq, count: b.count };
      return c.json(await audited(d.log, user(c), action, target, () => run(filter, b.upToSeq)));
    };
  return (
    new Hono<ConsoleEnv>()
      .get("/", async (c) => {
        const fields = Object.fromEntries(FILTER_KEYS.map((k) => [k, c.req.query(k)]));
        const filter = filterOf(fields);
        const after = intQuery(c, "after", 0, Number.MAX_SAFE_INTEGER);
        const page = await d.bus.deadLetters.page({
          ...filter,
          limit: intQuery(c, "limit", 20, MAX_PAGE) || 20,
          ...(after ? { afterSeq: after } : {}),
        });
        return c.json({ letters: page.letters.map((l) => letterView(l)), nextSeq: page.nextSeq });
      })
      // The first step of a bulk action, and a full scan: an operator's, like the action.
      .post("/count", operator, async (c) => {
        const filter = filterOf(await readBody(c, FilterBody));
        const { count, upToSeq } = await d.bus.deadLetters.count(filter);
        return c.json({
          count,
          upToSeq,
          filter: describeFilter(filter, systemTimes()),
          // what the confirmed action sends back as is
          confirm: { filter: filterFields(filter), upToSeq, count },
        });
      })
      .post(
        "/replay",
        operator,
        bulk("replay_matching", (f, upTo) => d.bus.deadLetters.replayMatching(f, upTo)),
      )
      .post(
        "/discard",
        operator,
        bulk("discard_matching", (f, upTo) => d.bus.deadLetters.removeMatching(f, upTo)),
      )
      .get("/:seq", async (c) => c.json(letterView(await d.bus.deadLetters.show(seqParam(c)), true)))
      .post("/:seq/replay", operator, async (c) => {
        const seq = seqParam(c);
        return c.json(await audited(d.log, user(c), "replay", { seq }, () => d.bus.deadLetters.replay(seq)));
      })
      .post("/:seq/discard", operator, async (c) => {
        const seq = seqParam(c);
        await audited(d.log, user(c), "discard", { seq }, () => d.bus.deadLetters.remove(seq));
        return c.json({ discarded: seq });
      })
  );
}

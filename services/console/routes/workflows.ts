/**
 * @module
 * Batches, chains and lookup by id. A batch's or chain's page is its workflow record, one KV read whatever
 * the batch's size (`batchPage`, `chainPage`); a batch's failed members are its dead letters, selected on
 * the server by the workflow token of their subject and paged (`/api/dlq?batch=…`), never all at once. A job
 * id shows its result record (`findResult`) and its dead letter. `POST /api/batches/:id/cancel` cancels.
 */
import { Hono } from "hono";
import { Type } from "@sinclair/typebox";
import { batchPage, chainPage, traceUrl } from "../../../shared/core/console-views.ts";
import { ID_PATTERN } from "../../../shared/protocol/fields.ts";
import { NotFoundError, ValidationError } from "../../../shared/protocol/errors.ts";
import { findResult } from "../../../shared/nats/result-reader.ts";
import type { BatchState, ChainState } from "../../../shared/core/types.ts";
import { Bitmap } from "../../../shared/core/bitmap.ts";
import { parseWorkflowJobId } from "../../../shared/core/ids.ts";
import { audited } from "../audit.ts";
import type { ConsoleDeps, ConsoleEnv } from "../deps.ts";
import { requireOperator } from "../middleware.ts";
import { readBody } from "./body.ts";
import { letterView } from "./dead-letters.ts";
import type { DeadLetterFilter } from "../../../shared/protocol/dead-letter-filter.ts";
import type { DeadLetterInfo, DeadLetterPage } from "../../../shared/sdk/types.ts";

const ID = new RegExp(ID_PATTERN);
const Cancel = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

function idParam(id: string): string {
  if (!ID.test(id) || id.length > 128)
    throw new ValidationError(`${JSON.stringify(id.slice(0, 140))} is not an id`);
  return id;
}

/** How many of a type's dead letters a job lookup reads to find the job's own, at most, a page at a time. */
const LOOKUP_SCAN = 5_000;
const LOOKUP_PAGE = 100;

export function workflowRoutes(d: ConsoleDeps): Hono<ConsoleEnv> {
  const operator = requireOperator(d.config.operators.length === 0);
  const batch = async (id: string) => {
    const r = await d.store.read({ kind: "batch", id });
    return r && r.value.state.kind === "batch" ? (r.value.state as BatchState) : null;
  };
  const chain = async (id: string) => {
    const r = await d.store.read({ kind: "chain", id });
    return r && r.value.state.kind === "chain" ? (r.value.state as ChainState) : null;
  };

  /** The job's letters among a filter's first `LOOKUP_SCAN`, keeping only those (never a whole page set). */
  const lettersOf = async (filter: DeadLetterFilter, mine: (l: DeadLetterInfo) => boolean) => {
    const found: DeadLetterInfo[] = [];
    let afterSeq: number | null = null;
    for (let read = 0; read < LOOKUP_SCAN; read += LOOKUP_PAGE) {
      const page: DeadLetterPage = await d.bus.deadLetters.page({
        ...filter,
        limit: LOOKUP_PAGE,
        ...(afterSeq !== null ? { afterSeq } : {}),
      });
      found.push(...page.letters.filter(mine));
      if (page.nextSeq === null) break;
      afterSeq = page.nextSeq;
    }
    return found;
  };

  return new Hono<ConsoleEnv>()
    .get("/batches/:id", async (c) => {
      const s = await batch(idParam(c.req.param("id")));
      if (!s) throw new NotFoundError(`batch ${c.req.param("id")}`);
      return c.json({ ...batchPage(s), traceUrl: traceUrl(d.config.jaegerUrl, s.dispatchId) });
    })
    .post("/batches/:id/cancel", operator, async (c) => {
      const id = idParam(c.req.param("id"));
      const { reason } = await readBody(c, Cancel);
      const user = c.get("session")!.user;
      await audited(d.log, user, "cancel_batch", { batch_id: id }, () =>
        d.bus.cancelBatch(id, reason ?? `cancelled in the console by ${user}`),
      );
      return c.json({ cancelled: id });
    })
    .get("/chains/:id", async (c) => {
      const s = await chain(idParam(c.req.param("id")));
      if (!s) throw new NotFoundError(`chain ${c.req.param("id")}`);
      return c.json({ ...chainPage(s), traceUrl: traceUrl(d.config.jaegerUrl, s.dispatchId) });
    })
    .get("/lookup/:id", async (c) => {
      const id = idParam(c.req.param("id"));
      const [b, ch] = await Promise.all([batch(id), chain(id)]);
      if (b) return c.json({ kind: "batch", id });
      if (ch) return c.json({ kind: "chain", id });
      const result = await findResult(d.jsm, d.results, id);
      // A workflow's job (a member, node or callback): its letters are selected by the workflow's token.
      const owner = parseWorkflowJobId(id);
      const ownerState = owner ? ((await batch(owner.workflowId)) ?? (await chain(owner.workflowId))) : null;
      const filter = ownerState
        ? { batch: ownerState.id }
        : result
          ? { queue: result.queue, type: result.type }
          : null;
      const letters = filter
        ? await lettersOf(filter, (l) => l.jobId === id || (!ownerState && l.dispatchId === id))
        : [];
      if (!result && !ownerState && letters.length === 0)
        throw new NotFoundError(`a job, chain or batch with id ${id}`);
      const member =
        ownerState && owner
          ? {
              workflowId: ownerState.id,
              workflowKind: ownerState.kind,
              role: owner.role,
              index: owner.index ?? null,
              ...(ownerState.kind === "batch" && owner.role === "member" && owner.index !== undefined
                ? { outcomeRecorded: Bitmap.decode(ownerState.done).has(owner.index) }
                : {}),
            }
          : null;
      const dispatchId = result?.dispatch_id ?? ownerState?.dispatchId ?? letters[0]?.dispatchId ?? id;
      return c.json({
        kind: "job",
        id,
        result,
        member,
        deadLetter: letters.length ? letterView(letters.at(-1)!, true) : null,
        traceUrl: traceUrl(d.config.jaegerUrl, dispatchId),
      });
    });
}

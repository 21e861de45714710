/**
 * @module
 * Queues and types. `GET /api/queues`: per (queue, type), from stream info (ready, per subject), the waiting
 * consumers (delayed), the job consumer's info (in flight, lag, pull requests, pause, finished deliveries for
 * the rate) and the worker registry (live workers); never a listing of keys. `POST /api/queues/pause` and
 * `/resume` pause a type's consumer, or every consumer of a queue, with the server's consumer pause: the
 * server stops delivering until the time given (or a resume), whatever workers ask for.
 */
import { Hono } from "hono";
import { Type } from "@sinclair/typebox";
import { typeHealth } from "../../../shared/core/console-views.ts";
import { STREAMS } from "../../../shared/protocol/names.ts";
import { NotFoundError } from "../../../shared/protocol/errors.ts";
import { JOB_TYPE_PATTERN, QUEUE_PATTERN } from "../../../shared/protocol/fields.ts";
import { queueOverview, type QueueRow } from "../../../shared/nats/queue-overview.ts";
import { audited } from "../audit.ts";
import type { ConsoleDeps, ConsoleEnv } from "../deps.ts";
import { requireOperator } from "../middleware.ts";
import { readBody } from "./body.ts";

const Target = Type.Object(
  {
    queue: Type.String({ pattern: QUEUE_PATTERN, maxLength: 64 }),
    type: Type.Optional(Type.String({ pattern: JOB_TYPE_PATTERN, maxLength: 128 })),
    /** how long to pause @defaultValue 24 h */
    forMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 365 * 86_400_000 })),
  },
  { additionalProperties: false },
);

const DEFAULT_PAUSE_MS = 86_400_000;
const OVERVIEW_TTL_MS = 500;

export function queueRoutes(d: ConsoleDeps): Hono<ConsoleEnv> {
  const operator = requireOperator(d.config.operators.length === 0);

  const targets = async (queue: string, type?: string): Promise<QueueRow[]> => {
    const rows = (await queueOverview(d.jsm, (now) => d.workers.live(now))).filter(
      (r) => r.queue === queue && (type === undefined || r.type === type) && r.consumer,
    );
    if (rows.length === 0)
      throw new NotFoundError(`a worker consumer for ${type ? `type ${type} on ` : ""}queue ${queue}`);
    return rows;
  };

  // Every open page re-reads on the same tick: one server reading serves all requests within OVERVIEW_TTL_MS.
  // A tick drops it first, so the pages it wakes read after the jobs that caused it.
  let cached: { at: number; rows: Promise<QueueRow[]> } | null = null;
  d.hub.onQueuesTick(() => (cached = null));
  const overview = async () => {
    const at = Date.now();
    if (!cached || at - cached.at > OVERVIEW_TTL_MS) {
      const rows = queueOverview(d.jsm, (t) => d.workers.live(t), at);
      cached = { at, rows };
      rows.catch(() => (cached = null));
    }
    return { at: cached.at, rows: await cached.rows };
  };

  return new Hono<ConsoleEnv>()
    .get("/", async (c) => {
      const { rows, at: now } = await overview();
      return c.json({
        at: now,
        rows: rows.map((r) => {
          const sample = r.consumer ? { finished: r.finished, at: now } : undefined;
          const prev = r.consumer ? d.samples.get(r.consumer) : undefined;
          // Keep the older reading until it is a second old, so rapid reloads still give a rate.
          if (r.consumer && sample && (!prev || now - prev.at >= 1_000)) d.samples.set(r.consumer, sample);
          return { ...r, ...typeHealth(r, prev, sample) };
        }),
      });
    })
    .post("/pause", operator, async (c) => {
      const t = await readBody(c, Target);
      const user = c.get("session")!.user;
      const until = new Date(Date.now() + (t.forMs ?? DEFAULT_PAUSE_MS));
      const rows = await targets(t.queue, t.type);
      await audited(d.log, user, "pause", { queue: t.queue, type: t.type, until: until.toISOString() }, () =>
        Promise.all(rows.map((r) => d.jsm.consumers.pause(STREAMS.jobs, r.consumer!, until))),
      );
      cached = null;
      return c.json({ paused: rows.map((r) => r.type), until: until.getTime() });
    })
    .post("/resume", operator, async (c) => {
      const t = await readBody(c, Target);
      const user = c.get("session")!.user;
      const rows = await targets(t.queue, t.type);
      await audited(d.log, user, "resume", { queue: t.queue, type: t.type }, () =>
        Promise.all(rows.map((r) => d.jsm.consumers.resume(STREAMS.jobs, r.consumer!))),
      );
      cached = null;
      return c.json({ resumed: rows.map((r) => r.type) });
    });
}

/**
 * @module
 * `GET /api/events[?workflow=<id>]`: server-sent events from the events stream, through the one shared
 * subscription (`event-hub.ts`): `workflow` messages for the page's batch or chain, `queues` ticks when jobs
 * moved. A comment every 15 s keeps proxies from closing an idle stream.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { JetbusError } from "../../../shared/protocol/errors.ts";
import { ErrorCodes } from "../../../shared/protocol/error-codes.ts";
import { ID_PATTERN } from "../../../shared/protocol/fields.ts";
import type { ConsoleDeps, ConsoleEnv } from "../deps.ts";
import type { PageEvent } from "../event-hub.ts";

const ID = new RegExp(ID_PATTERN);
const KEEPALIVE_MS = 15_000;
/** messages a slow page may have unsent before newer ones are dropped */
const MAX_QUEUED = 32;

export function eventRoutes(d: ConsoleDeps): Hono<ConsoleEnv> {
  return new Hono<ConsoleEnv>().get("/", (c) => {
    const workflow = c.req.query("workflow");
    if (workflow !== undefined && (!ID.test(workflow) || workflow.length > 128))
      throw new JetbusError(ErrorCodes.Validation, "workflow must be an id");
    if (d.hub.size >= d.config.maxEventStreams)
      throw new JetbusError(ErrorCodes.Unavailable, "too many open event streams; try again later");
    return streamSSE(c, async (stream) => {
      const queue: PageEvent[] = [];
      let wake: (() => void) | null = null;
      const remove = d.hub.add({
        ...(workflow ? { workflowId: workflow } : {}),
        send(e) {
          if (queue.length >= MAX_QUEUED) queue.shift();
          queue.push(e);
          wake?.();
        },
      });
      stream.onAbort(() => {
        remove();
        wake?.();
      });
      await stream.writeSSE({ event: "ready", data: "{}" });
      while (!stream.aborted && !stream.closed) {
        const e = queue.shift();
        if (e) {
          await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
          continue;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, KEEPALIVE_MS);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(": keepalive\n\n");
      }
      remove();
    });
  });
}

/**
 * @module
 * The commands for scripts: `jetbus dispatch <type>` (and `--wait` for its outcome), `jetbus events`
 * (recent events, or `--follow` them, as JSON lines), and the dead-letter bulk actions by filter, which
 * share the console's filter (`shared/protocol/dead-letter-filter.ts`) and its two steps: count, confirm, act on
 * what was counted.
 */
import { createInterface } from "node:readline/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { STREAMS } from "../shared/protocol/names.ts";
import {
  parseFilterText,
  describeFilter,
  type DeadLetterFilter,
} from "../shared/protocol/dead-letter-filter.ts";
import { ValidationError } from "../shared/protocol/errors.ts";
import { systemTimes } from "../shared/service/times.ts";
import { job } from "../shared/sdk/job.ts";
import type { Bus, BusEvent } from "../shared/sdk/types.ts";
import type { EventKind } from "../shared/protocol/schemas.ts";
import { EVENT_KINDS } from "../shared/protocol/event.ts";
import { withBus } from "./inspect.ts";

export function parseFilterFlag(text: string | undefined): DeadLetterFilter {
  if (text === undefined) return {};
  const r = parseFilterText(text, systemTimes());
  if (!r.ok) throw new ValidationError(`--filter: ${r.errors.join("; ")}`);
  return r.filter;
}

export async function dispatch(
  type: string | undefined,
  opts: { payload?: string; queue?: string; wait?: boolean; "timeout-ms"?: string },
): Promise<number> {
  if (!type) throw new ValidationError("usage: jetbus dispatch <type> [--payload JSON] [--queue q] [--wait]");
  let payload: unknown = undefined;
  if (opts.payload !== undefined) {
    try {
      payload = JSON.parse(opts.payload);
    } catch {
      throw new ValidationError(`--payload is not JSON: ${opts.payload.slice(0, 80)}`);
    }
  }
  const timeout = opts["timeout-ms"] ? Number(opts["timeout-ms"]) : 30_000;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new ValidationError("--timeout-ms must be a positive integer");
  return withBus(async (bus) => {
    let j = job(type, payload);
    if (opts.queue) j = j.onQueue(opts.queue);
    const { dispatchId, duplicate } = await bus.dispatch(j);
    if (!opts.wait) {
      process.stdout.write(`${JSON.stringify({ dispatchId, duplicate })}\n`);
      return 0;
    }
    const o = await bus.wait(dispatchId, { timeout });
    const line =
      o.status === "succeeded"
        ? { dispatchId, status: o.status, attempts: o.attempts, result: o.result }
        : {
            dispatchId,
            status: o.status,
            attempts: o.attempts,
            error: { code: o.error.code, message: o.error.message },
          };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return o.status === "succeeded" ? 0 : 1;
  });
}

function eventLine(e: BusEvent): string {
  const { at, error, ...rest } = e;
  return JSON.stringify({
    ...rest,
    at: at.toISOString(),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  });
}

const matchesId = (e: BusEvent, id: string) =>
  e.dispatchId === id || e.jobId === id || e.chainId === id || e.batchId === id;

/** Without `--follow`: the events since `--since` (default the last 15 minutes) up to now, then exit. */
export async function events(opts: {
  follow?: boolean;
  kind?: string[];
  id?: string;
  since?: string;
}): Promise<number> {
  const times = systemTimes();
  const since = opts.since ? parseFilterText(`since=${opts.since}`, times) : null;
  if (since && !since.ok) throw new ValidationError(`--since: ${since.errors.join("; ")}`);
  const fromTime = new Date(since?.ok ? since.filter.since! : times.now - 15 * 60_000);
  const unknown = (opts.kind ?? []).filter((k) => !(EVENT_KINDS as readonly string[]).includes(k));
  if (unknown.length)
    throw new ValidationError(
      `--kind: ${unknown.map((k) => JSON.stringify(k)).join(", ")} is not an event kind (${EVENT_KINDS.join(", ")})`,
    );
  const kinds = opts.kind?.length ? (opts.kind as EventKind[]) : undefined;
  return withBus(async (bus: Bus, nc) => {
    const lastSeq = opts.follow
      ? Infinity
      : (await (await jetstreamManager(nc)).streams.info(STREAMS.events)).state.last_seq;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    let idle: NodeJS.Timeout | null = null;
    const quiet = () => {
      if (opts.follow) return;
      if (idle) clearTimeout(idle);
      idle = setTimeout(done, 1_500);
    };
    const sub = bus.observe(
      (e) => {
        quiet();
        if ((!kinds || kinds.includes(e.kind)) && (!opts.id || matchesId(e, opts.id)))
          process.stdout.write(`${eventLine(e)}\n`);
        if (e.seq >= lastSeq) done();
      },
      { fromTime },
    );
    await sub.ready;
    if (!opts.follow && lastSeq === 0) done();
    quiet();
    if (opts.follow) {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    }
    await finished;
    if (idle) clearTimeout(idle);
    await sub.stop();
    return 0;
  });
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** `jetbus dlq replay|discard --filter …`: states the count, asks (or takes `--yes`), acts on what it counted. */
export async function dlqBulk(
  action: "replay" | "discard",
  filterText: string,
  yes: boolean,
): Promise<number> {
  const filter = parseFilterFlag(filterText);
  const words = describeFilter(filter, systemTimes());
  return withBus(async (bus) => {
    const { count, upToSeq } = await bus.deadLetters.count(filter);
    if (count === 0) {
      process.stdout.write(`no dead letters match ${words}\n`);
      return 0;
    }
    const question = `${action} ${count} dead letter(s) matching ${words}?`;
    if (!yes) {
      if (!process.stdin.isTTY) {
        process.stderr.write(`${question} Run again with --yes to do it.\n`);
        return 2;
      }
      if (!(await confirm(`${question} [y/N] `))) return 1;
    }
    const r =
      action === "replay"
        ? await bus.deadLetters.replayMatching(filter, upToSeq)
        : await bus.deadLetters.removeMatching(filter, upToSeq);
    process.stdout.write(
      `${action === "replay" ? "replayed" : "discarded"} ${r.done} of ${count} dead letter(s)\n`,
    );
    for (const f of r.failed) process.stderr.write(`  #${f.seq}: ${f.message}\n`);
    return r.failed.length ? 1 : 0;
  });
}

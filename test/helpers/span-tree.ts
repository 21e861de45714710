/**
 * @module
 * Span trees for the telemetry tests. Spans from the in-memory exporter (SDK 2.x `ReadableSpan`) or from the
 * OTLP receiver are flattened into {@link FlatSpan}s, then arranged as a tree whose children are sorted by a
 * stable key (name, message id, attempt), so a whole trace can be compared with one `deepEqual`. A tree
 * rendered as indented text goes into failure messages.
 */
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { jobConsumerName } from "../../shared/protocol/names.ts";
import { waitFor } from "../../shared/testkit/wait.ts";
import type { ReceivedSpan } from "./otlp-receiver.ts";

export interface FlatSpan {
  traceId: string;
  spanId: string;
  /** "" for a root */
  parentSpanId: string;
  name: string;
  kind: string;
  status: "UNSET" | "OK" | "ERROR";
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  events: string[];
  service?: string;
}

const STATUS = {
  [SpanStatusCode.UNSET]: "UNSET",
  [SpanStatusCode.OK]: "OK",
  [SpanStatusCode.ERROR]: "ERROR",
};

export function flatten(s: ReadableSpan): FlatSpan {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? "",
    name: s.name,
    kind: SpanKind[s.kind],
    status: STATUS[s.status.code] as FlatSpan["status"],
    attributes: { ...s.attributes },
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    events: s.events.map((e) => e.name),
  };
}

export function flattenReceived(s: ReceivedSpan): FlatSpan {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    status: (["UNSET", "OK", "ERROR"] as const)[s.status] ?? "UNSET",
    attributes: s.attributes,
    links: s.links,
    events: [],
    service: s.service,
  };
}

/** A node of a compared tree: what a test states about a span and its children. */
export interface Node {
  name: string;
  kind: string;
  status?: string;
  service?: string;
  children: Node[];
}

function sortKey(s: FlatSpan): string {
  const a = s.attributes;
  return `${s.name}|${String(a["messaging.message.id"] ?? "")}|${String(a["jetbus.attempt"] ?? "")}`;
}

export function childrenOf(spans: FlatSpan[], parent: FlatSpan): FlatSpan[] {
  return spans
    .filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId)
    .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
}

/** The tree under `root`: names, kinds, and (when asked) status and service of every span. */
export function treeOf(
  spans: FlatSpan[],
  root: FlatSpan,
  opts: { status?: boolean; service?: boolean } = {},
): Node {
  const node: Node = { name: root.name, kind: root.kind, children: [] };
  if (opts.status) node.status = root.status;
  if (opts.service) node.service = root.service ?? "";
  node.children = childrenOf(spans, root).map((c) => treeOf(spans, c, opts));
  return node;
}

/** Shorthand for expected trees: `n("send x", "PRODUCER", [children])`. */
export function n(name: string, kind: string, children: Node[] = [], extra: Partial<Node> = {}): Node {
  return { name, kind, ...extra, children };
}

/** The spans as an indented tree (every root of the set), for failure messages. */
export function render(spans: FlatSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (s: FlatSpan, depth: number) => {
    const a = s.attributes;
    lines.push(
      `${"  ".repeat(depth)}${s.name} [${s.kind}${s.service ? ` ${s.service}` : ""}] ${s.status}` +
        ` id=${s.spanId} attempt=${String(a["jetbus.attempt"] ?? "-")} links=${s.links.length}`,
    );
    for (const c of childrenOf(spans, s)) walk(c, depth + 1);
  };
  for (const root of spans.filter((s) => !ids.has(s.parentSpanId))) walk(root, 0);
  return lines.join("\n");
}

/** Every span of the trace `traceId`. */
export function inTrace(spans: FlatSpan[], traceId: string): FlatSpan[] {
  return spans.filter((s) => s.traceId === traceId);
}

/** The single span matching `pred` (throws with the tree when there is not exactly one). */
export function one(spans: FlatSpan[], what: string, pred: (s: FlatSpan) => boolean): FlatSpan {
  const found = spans.filter(pred);
  if (found.length !== 1)
    throw new Error(`expected one span ${what}, found ${found.length}:\n${render(spans)}`);
  return found[0]!;
}

/**
 * The OpenTelemetry SDK of an in-process test file, exporting to memory. NodeSDK registers globals (tracer
 * provider, propagator, context manager): start ONE per test file, before the mesh.
 */
/** `sampler`: the SDK's default (parent-based, always on) unless given. */
export function startMemoryTracing(opts: { sampler?: Sampler } = {}): {
  spans(): FlatSpan[];
  traceWhere(
    what: string,
    root: (s: FlatSpan) => boolean,
    done: (all: FlatSpan[]) => boolean,
  ): Promise<FlatSpan[]>;
  shutdown(): Promise<void>;
} {
  const memory = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    spanProcessors: [new SimpleSpanProcessor(memory)],
    ...(opts.sampler ? { sampler: opts.sampler } : {}),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const spans = () => memory.getFinishedSpans().map(flatten);
  return {
    spans,
    /** The finished spans of the trace holding a span matching `root`, once `done` holds for them. */
    traceWhere: (what, root, done) =>
      waitFor(
        what,
        () => {
          const r = spans().find(root);
          const all = r ? inTrace(spans(), r.traceId) : [];
          return r && done(all) ? all : null;
        },
        { timeoutMs: 15_000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${render(spans())}`);
      }),
    shutdown: () => sdk.shutdown(),
  };
}

/** Attributes every span of a job shares (send or process) on `queue`, `extra` on top. */
export function jobAttrs(
  op: "send" | "process",
  queue: string,
  type: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    "messaging.system": "nats",
    "messaging.operation.type": op,
    "messaging.operation.name": op === "send" ? "publish" : "process",
    "messaging.destination.name": `jobs.${queue}.${type}`,
    "jetbus.job.type": type,
    "jetbus.queue": queue,
    ...(op === "process" ? { "messaging.consumer.group.name": jobConsumerName(queue, type) } : {}),
    ...extra,
  };
}

/** A process span's attributes without the body size (asserted to be positive). */
export function processAttrs(s: FlatSpan): Record<string, unknown> {
  const { "messaging.message.body.size": size, ...rest } = s.attributes;
  assert.ok(typeof size === "number" && size > 0, `body size of ${s.name}`);
  return rest;
}

/** Every messaging span names a job destination (or chain/batch), never an inbox or an ack subject. */
export function assertDestinations(all: FlatSpan[]): void {
  for (const s of all) {
    if (s.kind === "INTERNAL" || s.kind === "SERVER") continue;
    const d = s.attributes["messaging.destination.name"];
    assert.ok(
      typeof d === "string" && /^(jobs\.[^.]+\.[^.]+|chain|batch)$/.test(d),
      `destination ${String(d)}`,
    );
    assert.doesNotMatch(d, /_INBOX|\$JS/);
    assert.equal(s.name, `${String(s.attributes["messaging.operation.type"])} ${d}`);
  }
}

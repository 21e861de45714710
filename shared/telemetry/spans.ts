/**
 * @module
 * The spans jetbus makes, all through the OpenTelemetry API (a no-op unless a service or the application has
 * started an SDK): `send <destination>` (PRODUCER) when a job is published, `process <destination>` (CONSUMER)
 * per delivery, and INTERNAL spans for the coordinator's transitions. Span names are low-cardinality
 * (`jobs.<queue>.<type>`), never an inbox or an ack subject.
 */
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  TraceFlags,
} from "@opentelemetry/api";
import { ATTR, MESSAGING_SYSTEM } from "./attributes.ts";
import { fieldsOf, type TraceFields } from "./carrier.ts";

export const tracer = trace.getTracer("jetbus", "1");

/**
 * Whether an SDK is registered. Without one every span is a no-op, so the hot path skips building spans,
 * attributes and contexts altogether and just forwards the trace context it received.
 */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider() as { getDelegateTracer?: (name: string) => unknown };
  return provider.getDelegateTracer ? provider.getDelegateTracer("jetbus") !== undefined : true;
}

/** Whether the configured sampler follows the parent's decision: read from the environment once (see below). */
let parentBased: boolean | undefined;

/**
 * Reads `OTEL_TRACES_SAMPLER` again. Reading `process.env` costs about a microsecond, too much for every
 * delivery, so the setting is read once; call this after changing the variable in a running process.
 */
export function rereadSamplerSetting(): void {
  parentBased = (process.env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").startsWith("parentbased");
}

/**
 * Whether a span continuing `parent` (a `traceparent` or a live span's context) could be recorded; without a
 * parent, whether a root may be started (the dispatcher's question). Under a parent-based sampler (every
 * `parentbased_*` one, and the default) the child of an unsampled parent is never recorded, so the span is not
 * made at all and the parent's context is forwarded as it came: at ratio 0.1 that spares 90% of deliveries
 * the sampler, the span and its attributes.
 */
export function traceWanted(parent: string | SpanContext | undefined): boolean {
  if (!tracingActive()) return false;
  if (!parent) return true;
  if (parentBased === undefined) rereadSamplerSetting();
  if (!parentBased) return true;
  if (typeof parent !== "string") return (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
  const flags = parent.split("-")[3];
  return flags === undefined || (parseInt(flags, 16) & TraceFlags.SAMPLED) !== 0;
}

/**
 * {@link traceWanted} for everything after the dispatcher (workers, the coordinator): a trace starts only where
 * work is dispatched, so a job that carries no trace context (its dispatch was sampled out, or tracing was off
 * there) gets no span of its own, and a trace is never split into roots per process.
 */
export function continuesTrace(parent: string | SpanContext | undefined): boolean {
  return parent !== undefined && parent !== "" && traceWanted(parent);
}

/**
 * The trace context a dispatch hands on to the work it makes: its span's, except for a root that the sampler
 * left out, whose work then carries none (and costs nothing more downstream, see {@link continuesTrace}). A
 * caller's context is always handed on, sampled or not, so the caller's trace id reaches every log line.
 */
export function handedOn(span: Span, caller: TraceFields): TraceFields {
  return span.isRecording() || caller.traceparent ? fieldsOf(span) : {};
}

/** Destination as spans show it: the stream subject without the `jetbus.` prefix. */
export function destination(queue: string, type: string): string {
  return `jobs.${queue}.${type}`;
}

export function startSend(
  dest: string,
  attributes: Attributes,
  parent: Context = context.active(),
  links?: Link[],
): Span {
  return tracer.startSpan(
    `send ${dest}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR.system]: MESSAGING_SYSTEM,
        [ATTR.operationType]: "send",
        [ATTR.operationName]: "publish",
        [ATTR.destination]: dest,
        ...attributes,
      },
      ...(links ? { links } : {}),
    },
    parent,
  );
}

export function startProcess(dest: string, attributes: Attributes, parent: Context): Span {
  return tracer.startSpan(
    `process ${dest}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR.system]: MESSAGING_SYSTEM,
        [ATTR.operationType]: "process",
        [ATTR.operationName]: "process",
        [ATTR.destination]: dest,
        ...attributes,
      },
    },
    parent,
  );
}

export function startInternal(name: string, attributes: Attributes, parent: Context, links?: Link[]): Span {
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, ...(links ? { links } : {}) }, parent);
}

/** Marks a span failed the way backends expect: status ERROR, `error.type`, the exception recorded. */
export function failSpan(span: Span, err: unknown, code?: string): void {
  if (!span.isRecording()) return;
  const e = err instanceof Error ? err : new Error(typeof err === "string" ? err : JSON.stringify(err));
  span.recordException(e);
  span.setAttribute(ATTR.errorType, code ?? e.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/**
 * @module
 * W3C trace context in NATS headers (`traceparent`, `tracestate`) and in protocol fields (outcome entries carry
 * their own, since one outcome message holds many jobs). An explicit W3C propagator is used rather than the
 * global one, so a service without an OpenTelemetry SDK still forwards the context it received unchanged.
 */
import {
  ROOT_CONTEXT,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { headers as natsHeaders, Match, type MsgHdrs } from "@nats-io/transport-node";

const w3c = new W3CTraceContextPropagator();

export interface TraceFields {
  traceparent?: string;
  tracestate?: string;
}

const headerSetter: TextMapSetter<MsgHdrs> = { set: (h, k, v) => h.set(k, v) };
const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? h.keys() : []),
  // get() returns "" for a missing header, and other clients may change the case.
  get: (h, k) => h?.get(k, Match.IgnoreCase) || undefined,
};
const fieldGetter: TextMapGetter<TraceFields> = {
  keys: (f) => Object.keys(f),
  get: (f, k) => (k === "traceparent" ? f.traceparent : k === "tracestate" ? f.tracestate : undefined),
};
const fieldSetter: TextMapSetter<TraceFields> = {
  set: (f, k, v) => {
    if (k === "traceparent") f.traceparent = v;
    if (k === "tracestate") f.tracestate = v;
  },
};

export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  return w3c.extract(ROOT_CONTEXT, h, headerGetter);
}

export function contextFromFields(f: TraceFields): Context {
  return f.traceparent ? w3c.extract(ROOT_CONTEXT, f, fieldGetter) : ROOT_CONTEXT;
}

/** The trace fields naming `span` (a non-recording span carries its parent's context, so it passes through). */
export function fieldsOf(span: Span): TraceFields {
  const f: TraceFields = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), f, fieldSetter);
  return f;
}

export function fieldsFromContext(ctx: Context): TraceFields {
  const f: TraceFields = {};
  w3c.inject(ctx, f, fieldSetter);
  return f;
}

/** The `traceparent`/`tracestate` pair a message carried in its headers, unchanged (any case). */
export function fieldsFromHeaders(h: MsgHdrs | undefined): TraceFields {
  const f: TraceFields = {};
  const tp = h?.get("traceparent", Match.IgnoreCase);
  const ts = h?.get("tracestate", Match.IgnoreCase);
  if (tp) f.traceparent = tp;
  if (ts) f.tracestate = ts;
  return f;
}

export function headersFromFields(f: TraceFields, h: MsgHdrs = natsHeaders()): MsgHdrs {
  if (f.traceparent) h.set("traceparent", f.traceparent);
  if (f.tracestate) h.set("tracestate", f.tracestate);
  return h;
}

export function injectHeaders(ctx: Context, h: MsgHdrs = natsHeaders()): MsgHdrs {
  w3c.inject(ctx, h, headerSetter);
  return h;
}

/** The span context a traceparent names, for span links. */
export function spanContextOf(traceparent: string | undefined) {
  if (!traceparent) return undefined;
  return trace.getSpanContext(contextFromFields({ traceparent }));
}

/** `trace_id` / `span_id` for a log line, from a traceparent (empty when there is none). */
export function traceIds(traceparent: string | undefined): { trace_id?: string; span_id?: string } {
  const c = spanContextOf(traceparent);
  return c ? { trace_id: c.traceId, span_id: c.spanId } : {};
}

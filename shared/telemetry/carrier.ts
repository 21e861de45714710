/**
 * @module
 * W3C trace context in NATS headers (`traceparent`, `tracestate`) and in protocol fields (outcome entries carry
 * their own, since one outcome message holds many jobs).
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { headers as natsHeaders, Match, type MsgHdrs } from "@nats-io/transport-node";

export const headerSetter: TextMapSetter<MsgHdrs> = { set: (h, k, v) => h.set(k, v) };
export const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? h.keys() : []),
  // get() returns "" for a missing header, and other clients may change the case.
  get: (h, k) => h?.get(k, Match.IgnoreCase) || undefined,
};

type Fields = { traceparent?: string; tracestate?: string };
const fieldGetter: TextMapGetter<Fields> = {
  keys: (f) => Object.keys(f),
  get: (f, k) => (k === "traceparent" ? f.traceparent : k === "tracestate" ? f.tracestate : undefined),
};
const fieldSetter: TextMapSetter<Fields> = {
  set: (f, k, v) => {
    if (k === "traceparent") f.traceparent = v;
    if (k === "tracestate") f.tracestate = v;
  },
};

export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, h, headerGetter);
}

export function contextFromFields(f: Fields): Context {
  return f.traceparent ? propagation.extract(ROOT_CONTEXT, f, fieldGetter) : ROOT_CONTEXT;
}

/** The trace fields of a context (the active one by default), for a header-less carrier. */
export function fieldsFromContext(ctx: Context = context.active()): Fields {
  const f: Fields = {};
  propagation.inject(ctx, f, fieldSetter);
  return f;
}

export function injectHeaders(ctx: Context = context.active(), h: MsgHdrs = natsHeaders()): MsgHdrs {
  propagation.inject(ctx, h, headerSetter);
  return h;
}

/** The span context a traceparent names, for span links. */
export function spanContextOf(traceparent: string | undefined) {
  if (!traceparent) return undefined;
  return trace.getSpanContext(contextFromFields({ traceparent }));
}

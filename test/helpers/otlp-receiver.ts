/**
 * @module
 * A tiny OTLP/HTTP trace receiver for tests: a node:http server accepting `POST /v1/traces`. JSON bodies
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) are decoded into flat spans (ids as lowercase hex whether the
 * exporter wrote hex or base64, the resource's `service.name` on each span); protobuf bodies are only
 * counted, with their content type. `delayMs` makes it a slow collector that answers late; once stopped,
 * nothing listens at its address (a collector that is down).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a root span */
  parentSpanId: string;
  name: string;
  kind: "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER" | "UNSPECIFIED";
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  /** 0 unset, 1 ok, 2 error */
  status: number;
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  bytes: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, the value for OTEL_EXPORTER_OTLP_ENDPOINT */
  endpoint: string;
  requests: ReceivedRequest[];
  spans: ReceivedSpan[];
  /** bodies that were not valid OTLP JSON (reported by tests, never silently dropped) */
  errors: string[];
  stop(): Promise<void>;
}

const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"] as const;

/** An OTLP id as hex: JSON encodings use hex, some use base64 (24 chars for a trace id, 12 for a span id). */
export function otlpId(v: unknown): string {
  if (typeof v !== "string" || v === "") return "";
  if (/^[0-9a-fA-F]+$/.test(v) && (v.length === 32 || v.length === 16)) return v.toLowerCase();
  return Buffer.from(v, "base64").toString("hex");
}

function kindOf(v: unknown): ReceivedSpan["kind"] {
  if (typeof v === "number") return KINDS[v] ?? "UNSPECIFIED";
  if (typeof v === "string") {
    const k = v.replace(/^SPAN_KIND_/, "");
    return (KINDS as readonly string[]).includes(k) ? (k as ReceivedSpan["kind"]) : "UNSPECIFIED";
  }
  return "UNSPECIFIED";
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};

function valueOf(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: { key: string; value?: AnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value?: AnyValue }[] };
    scopeSpans?: { spans?: Record<string, unknown>[] }[];
  }[];
}

/** The spans of an OTLP/JSON ExportTraceServiceRequest. */
export function decodeOtlpJson(body: OtlpJson): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          traceId: otlpId(s.traceId),
          spanId: otlpId(s.spanId),
          parentSpanId: otlpId(s.parentSpanId),
          name: String(s.name),
          kind: kindOf(s.kind),
          attributes: attributesOf(s.attributes as { key: string; value?: AnyValue }[]),
          links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({
            traceId: otlpId(l.traceId),
            spanId: otlpId(l.spanId),
          })),
          status: Number((s.status as { code?: number } | undefined)?.code ?? 0),
        });
      }
    }
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startOtlpReceiver(opts: { delayMs?: number } = {}): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const errors: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const contentType = String(req.headers["content-type"] ?? "");
      requests.push({ path: req.url ?? "", contentType, bytes: body.length });
      if (req.method === "POST" && req.url === "/v1/traces" && contentType.includes("json")) {
        try {
          spans.push(...decodeOtlpJson(JSON.parse(body.toString("utf8")) as OtlpJson));
        } catch (err) {
          errors.push(String(err));
        }
      }
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, {
          "content-type": contentType.includes("json") ? "application/json" : "application/x-protobuf",
        });
        res.end(contentType.includes("json") ? "{}" : undefined);
      };
      if (!opts.delayMs) return answer();
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, opts.delayMs);
      timers.add(t);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    spans,
    errors,
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** OTEL env for a service process exporting to `endpoint` quickly (batches every 100 ms). */
export function otelEnv(endpoint: string, protocol?: "http/json" | "http/protobuf"): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_BSP_SCHEDULE_DELAY: "100",
    ...(protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}),
  };
}

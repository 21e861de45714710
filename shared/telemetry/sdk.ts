/**
 * @module
 * Starting the OpenTelemetry SDK in a service, configured only by the standard variables: OTLP over HTTP
 * (`OTEL_EXPORTER_OTLP_PROTOCOL`: http/protobuf by default, http/json when set), `OTEL_TRACES_SAMPLER`,
 * `OTEL_SERVICE_NAME` (default `jetbus-<service>`). No SDK starts when `OTEL_SDK_DISABLED=true` or no
 * endpoint is set. Spans are exported in batches off the hot path, so a slow or absent collector only costs
 * dropped spans, never job throughput.
 */

import { SyncContextManager } from "./sync-context.ts";

/** Services that run no application code: they need no context carried across awaits (`sync-context.ts`). */
const SYNC_CONTEXT_SERVICES = new Set(["dispatcher", "coordinator"]);

export interface Telemetry {
  enabled: boolean;
  shutdown(): Promise<void>;
}

export function telemetryWanted(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").toLowerCase() === "true") return false;
  if ((env.OTEL_TRACES_EXPORTER ?? "").split(",").includes("none")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** The SDK is imported only when wanted: loading it costs ~50 MB of memory in every process. */
export async function startTelemetry(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Telemetry> {
  if (!telemetryWanted(env)) return { enabled: false, shutdown: async () => undefined };
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    ...(SYNC_CONTEXT_SERVICES.has(service) ? { contextManager: new SyncContextManager() } : {}),
    // An empty variable counts as unset (as the OpenTelemetry spec says), not as an empty service name.
    serviceName: env.OTEL_SERVICE_NAME || `jetbus-${service}`,
    // Traces only: without these NodeSDK would also start OTLP metric and log exporters from env.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

/**
 * @module
 * A minimal OTLP/HTTP trace receiver for the tracing runs: accepts `POST /v1/traces` (any encoding; the
 * services post protobuf by default), answers 200 with an empty body and only counts requests and bytes, so
 * it costs next to nothing and never slows an exporter down.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface OtlpSink {
  /** `http://127.0.0.1:<port>`: the value for OTEL_EXPORTER_OTLP_ENDPOINT */
  endpoint: string;
  counts(): { posts: number; bytes: number };
  stop(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let posts = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url?.startsWith("/v1/traces")) {
        posts++;
        res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ posts, bytes }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

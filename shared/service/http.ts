/**
 * @module
 * The one HTTP surface of a service: `/healthz` (the process is alive), `/readyz` (connected and serving) and
 * `/metrics` (Prometheus text from prom-client's default registry).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { register } from "prom-client";

export interface HealthSource {
  /** null when ready, else a short reason */
  notReadyReason(): string | null;
}

export interface HttpHandle {
  port: number;
  close(): Promise<void>;
}

export async function startHttp(host: string, port: number, health: HealthSource): Promise<HttpHandle> {
  const server: Server = createServer((req, res) => {
    const url = req.url?.split("?")[0];
    if (url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (url === "/readyz") {
      const reason = health.notReadyReason();
      res
        .writeHead(reason ? 503 : 200, { "content-type": "text/plain" })
        .end(reason ? `${reason}\n` : "ready\n");
    } else if (url === "/metrics") {
      register.metrics().then(
        (text) => res.writeHead(200, { "content-type": register.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * @module
 * The one HTTP surface of a service: `/healthz` (the process is alive), `/readyz` (connected and serving) and
 * `/metrics` (Prometheus text from prom-client's default registry). A service with a web surface of its own
 * (the console) hands the other paths to its `RequestListener` once it has started.
 */
import { createServer, type RequestListener, type Server } from "node:http";
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

/** Where paths other than the three go: set once the service has started (404 until then, and without one). */
export interface HttpRoutes {
  listener: RequestListener | null;
}

export async function startHttp(
  host: string,
  port: number,
  health: HealthSource,
  routes: HttpRoutes = { listener: null },
): Promise<HttpHandle> {
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
    } else if (routes.listener) {
      routes.listener(req, res);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams (the console's SSE) would hold close() forever.
        server.closeAllConnections();
      }),
  };
}

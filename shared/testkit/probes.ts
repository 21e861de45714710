/**
 * @module Small network and file probes the launcher polls while a server starts.
 *
 * Each probe answers "not yet" (false / null / a thrown error) instead of waiting itself, so all waiting
 * stays in {@link waitFor} with one deadline.
 */
import { readFile } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";

/** Shape of `nats-server_<pid>.ports`, written by nats-server once its listeners are bound. */
export interface PortsFile {
  nats: string[];
  monitoring?: string[];
  cluster?: string[];
}

/** `null` until the file exists and holds complete JSON (the server writes it non-atomically). */
export async function readPortsFile(path: string): Promise<PortsFile | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as PortsFile;
    return Array.isArray(parsed.nats) && parsed.nats.length > 0 ? parsed : null;
  } catch {
    return null;
  }
}

export function portOf(url: string): number {
  const port = Number(new URL(url).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${url}`);
  return port;
}

export function acceptsTcp(port: number, host = "127.0.0.1", timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** GET a monitoring endpoint; non-2xx answers throw with their body, which carries the server's reason. */
export async function getJson<T>(url: string, timeoutMs = 2_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}: ${body.trim()}`);
  return JSON.parse(body) as T;
}

/**
 * Ports the OS considers free right now. There is a window between closing our probe socket and the server
 * binding the port, so use this only where the port must be known before the server starts (cluster routes).
 */
export async function allocateFreePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  // Holding every probe open until all are bound keeps the ports distinct from one another.
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === "string") throw new Error("unexpected server address");
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

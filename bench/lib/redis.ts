/**
 * @module
 * The Redis pre-flight: `PING` and `INFO` over a plain socket (RESP), so the check needs no Redis driver and
 * can tell "Redis is down" apart from "the driver is missing" (see bullmq-driver.ts).
 */
import { createConnection } from "node:net";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export function redisAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || "127.0.0.1", port: Number(u.port || 6379) };
}

/** Sends one inline command and resolves with the raw reply (enough for PING and INFO). */
function command(url: string, cmd: string, timeoutMs: number): Promise<string> {
  const { host, port } = redisAddress(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let reply = "";
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    socket.setTimeout(timeoutMs, () =>
      done(new Error(`no reply from Redis at ${host}:${port} in ${timeoutMs} ms`)),
    );
    socket.on("error", (err) => done(err));
    socket.on("connect", () => socket.write(`${cmd}\r\n`));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      // A simple string or error is one line; a bulk string ($len) is complete once len bytes arrived.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (!bulk && reply.endsWith("\r\n")) done();
      else if (bulk && Buffer.byteLength(reply) >= bulk[0].length + Number(bulk[1]) + 2) done();
    });
  });
}

/** Throws a clear error unless Redis answers PING with PONG. */
export async function checkRedis(url: string, timeoutMs = 2000): Promise<void> {
  let reply: string;
  try {
    reply = await command(url, "PING", timeoutMs);
  } catch (err) {
    throw new Error(
      `Redis is unreachable at ${url} (${(err as Error).message}). The BullMQ baselines need it: start Redis, ` +
        `set REDIS_URL, or set BENCH_NO_BULLMQ=1 to skip them.`,
      { cause: err },
    );
  }
  if (!reply.startsWith("+PONG"))
    throw new Error(`Redis at ${url} answered PING with ${JSON.stringify(reply)}`);
}

/** The Redis server's pid, to sample its RSS; undefined when it is not on this machine's /proc. */
export async function redisPid(url: string): Promise<number | undefined> {
  const { host } = redisAddress(url);
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1") return undefined;
  const info = await command(url, "INFO server", 2000);
  const m = /^process_id:(\d+)/m.exec(info);
  return m ? Number(m[1]) : undefined;
}

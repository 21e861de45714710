/**
 * @module Locating the `nats-server` executable.
 *
 * Kept apart from the launcher so the CLI (`npm start`) can reuse it without pulling in test helpers.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Debian installs to /usr/sbin, which is often not on a non-root user's PATH. */
const FALLBACK_PATHS = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"];

export class NatsServerNotFoundError extends Error {
  override readonly name = "NatsServerNotFoundError";
  readonly code = "NATS_SERVER_NOT_FOUND";

  constructor(looked: readonly string[], searchedPath = true) {
    super(
      `nats-server was not found (looked ${searchedPath ? "on PATH and " : ""}in ${looked.join(", ")}). ` +
        "Install nats-server 2.9+: " +
        "`apt-get install nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS), " +
        "or run one with `docker run -p 4222:4222 nats -js`.",
    );
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** PATH first (so a developer's newer build wins), then the usual install locations; `null` if none. */
export function findNatsServerBinary(env: NodeJS.ProcessEnv = process.env): string | null {
  const names = process.platform === "win32" ? ["nats-server.exe"] : ["nats-server"];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return FALLBACK_PATHS.find(isExecutableFile) ?? null;
}

/** Like {@link findNatsServerBinary}, but throws {@link NatsServerNotFoundError} with install hints. */
export function requireNatsServerBinary(explicit?: string): string {
  if (explicit !== undefined) {
    if (isExecutableFile(explicit)) return explicit;
    throw new NatsServerNotFoundError([explicit], false);
  }
  const found = findNatsServerBinary();
  if (found) return found;
  throw new NatsServerNotFoundError(FALLBACK_PATHS);
}

/**
 * @module
 * Locating a current `nats-server` executable (2.12 or newer).
 *
 * Order: `.jetbus/bin/nats-server` (where `scripts/fetch-nats-server.sh` puts the newest Debian-testing build; in
 * the current project, then in this package), then PATH, then the usual install locations. Each candidate is
 * asked for `--version` once per process (again only if the file changes): an older one — Debian bookworm's
 * /usr/sbin/nats-server is 2.9.10 — is skipped, and named in the error when nothing current is found. Kept
 * apart from the launcher so the CLI (`npm start`) and the test command can reuse it without test helpers.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { atLeast, SERVER_FLOOR } from "../protocol/server-version.ts";

const EXE = process.platform === "win32" ? "nats-server.exe" : "nats-server";
/** Debian installs to /usr/sbin, which is often not on a non-root user's PATH. */
const FALLBACK_PATHS = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"];
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A candidate that was found but not used, and why. */
export interface SkippedNatsServer {
  path: string;
  /** As `--version` reported it, e.g. `2.9.10`; `null` if it did not run or said nothing readable. */
  version: string | null;
}

export interface NatsServerSearch {
  /** The first current server, with its version. */
  found: { path: string; version: string } | null;
  skipped: SkippedNatsServer[];
  /** Where it looked, in order, for messages: the project folders, "PATH", the usual install locations. */
  looked: string[];
}

export class NatsServerNotFoundError extends Error {
  override readonly name = "NatsServerNotFoundError";
  readonly code = "NATS_SERVER_NOT_FOUND";

  constructor(
    readonly looked: readonly string[],
    readonly skipped: readonly SkippedNatsServer[] = [],
  ) {
    const floor = SERVER_FLOOR.replace(/\.0$/, "");
    const why = skipped.map(
      (s) =>
        `  skipped ${s.path}: ${s.version ? `v${s.version} is older than ${floor}` : "`--version` gave no version"}\n`,
    );
    super(
      `no nats-server ${floor} or newer was found (looked in ${looked.join(", ")}).\n${why.join("")}` +
        "Get a current one:\n" +
        "  Debian/Ubuntu:  scripts/fetch-nats-server.sh   (the newest server from Debian's testing suite into " +
        ".jetbus/bin, used first; apt's own package is too old on Debian stable and older)\n" +
        "  macOS/Linux:    brew install nats-server\n" +
        "  container:      docker run -p 4222:4222 nats:2.15-alpine -js   (then NATS_URL=127.0.0.1:4222)",
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

const versions = new Map<string, string | null>();

/** What `<path> --version` reports (`nats-server: v2.15.1` → `2.15.1`), cached per file and modification. */
export function natsServerVersion(path: string): string | null {
  let key: string;
  try {
    const st = statSync(path);
    key = `${resolve(path)}\0${st.mtimeMs}\0${st.size}`;
  } catch {
    return null;
  }
  if (versions.has(key)) return versions.get(key)!;
  const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 10_000 });
  const version = /\bv?(\d+\.\d+\.\d+[^\s]*)/.exec(`${r.stdout ?? ""} ${r.stderr ?? ""}`)?.[1] ?? null;
  versions.set(key, version);
  return version;
}

/** `.jetbus/bin` of the current project, then of this package (the same folder when run inside the repo). */
const PROJECT_DIRS = [process.cwd(), PACKAGE_ROOT];

/** The candidate paths in the order they are tried. */
function candidates(env: NodeJS.ProcessEnv, projectDirs: readonly string[]): string[] {
  const local = projectDirs.map((dir) => join(dir, ".jetbus", "bin", EXE));
  const onPath = (env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, EXE));
  return [...new Set([...local, ...onPath, ...FALLBACK_PATHS].map((p) => resolve(p)))];
}

/**
 * Every candidate, the first current one, and the older ones passed over on the way. `projectDirs` are the
 * folders whose `.jetbus/bin` comes first. @defaultValue the current directory and this package's root
 */
export function searchNatsServer(
  env: NodeJS.ProcessEnv = process.env,
  projectDirs: readonly string[] = PROJECT_DIRS,
): NatsServerSearch {
  const skipped: SkippedNatsServer[] = [];
  const local = [...new Set(projectDirs.map((dir) => resolve(dir, ".jetbus", "bin", EXE)))];
  const looked = [...local, "PATH", ...FALLBACK_PATHS];
  const seen = new Set<string>();
  for (const path of candidates(env, projectDirs)) {
    if (!isExecutableFile(path)) continue;
    // /sbin and /usr/sbin are one folder on merged-/usr systems: ask each file once.
    const real = realpathSync(path);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = natsServerVersion(path);
    if (version !== null && atLeast(version, SERVER_FLOOR))
      return { found: { path, version }, skipped, looked };
    skipped.push({ path, version });
  }
  return { found: null, skipped, looked };
}

/** The first current (2.12+) nats-server, or `null`; see the module note for the order. */
export function findNatsServerBinary(
  env: NodeJS.ProcessEnv = process.env,
  projectDirs: readonly string[] = PROJECT_DIRS,
): string | null {
  return searchNatsServer(env, projectDirs).found?.path ?? null;
}

/**
 * Like {@link findNatsServerBinary}, but throws {@link NatsServerNotFoundError} with the ways to get one. An
 * explicit path is used as given, whatever its version (tests start old servers on purpose).
 */
export function requireNatsServerBinary(explicit?: string): string {
  if (explicit !== undefined) {
    if (isExecutableFile(explicit)) return explicit;
    throw new NatsServerNotFoundError([explicit]);
  }
  const search = searchNatsServer();
  if (search.found) return search.found.path;
  throw new NatsServerNotFoundError(search.looked, search.skipped);
}

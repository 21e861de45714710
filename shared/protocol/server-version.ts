/**
 * @module
 * The nats-server versions jetbus runs on: the floor every process checks when it connects, and the versions
 * that features newer than the floor need. Part of the protocol because a client or worker in another language
 * depends on the same server features. Pure: the shell reads the version (`nc.info.version`, `nats-server
 * --version`) and asks here.
 */
import { ErrorCodes } from "./error-codes.ts";
import { JetbusError } from "./errors.ts";

/** A server version; `prerelease` holds the dot-separated parts after `-` (`2.12.0-RC.1` → `["RC", 1]`). */
export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
}

/**
 * Message schedules (`Nats-Schedule`), which delays are built on, arrived in 2.12; per-message and per-key TTLs
 * and consumer pause in 2.11. Older servers also lose KV compare-and-set updates on a cluster (fixed upstream
 * in 2023), so they are refused rather than half-worked.
 */
export const SERVER_FLOOR = "2.12.0";

/** Features newer than {@link SERVER_FLOOR}, with the first server version that has each. */
export const SERVER_FEATURES = {
  /** `Nats-Schedule: @every …` and cron expressions (2.13 was skipped). */
  "recurring schedules": "2.14.0",
  /** `Nats-Schedule-Source`: a schedule that samples another subject's last message. */
  "scheduled subject sampling": "2.14.0",
  /** `allow_batched` streams: flow-controlled batch publishing without staging. */
  "fast batch publish": "2.14.0",
  /** `$JS.API.CONSUMER.RESET`: moving a consumer back without recreating it. */
  "consumer reset": "2.14.0",
} as const;
export type ServerFeature = keyof typeof SERVER_FEATURES;

/** How to get a current server, for every message that refuses an old or missing one. */
export const SERVER_UPGRADE_HINT =
  "Get nats-server 2.12 or newer: `brew install nats-server` (Homebrew), the `nats:2.15-alpine` container " +
  "image or the official NATS Helm chart, or on Debian/Ubuntu `scripts/fetch-nats-server.sh` from the jetbus " +
  "repository (apt's own nats-server package is too old on Debian stable and older: bookworm has 2.9.10, " +
  "trixie 2.10.27).";

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/** `2.15.1`, `v2.15.1`, `2.12.0-RC.1`, `2.10.27+build`; `null` for anything else. */
export function parseServerVersion(text: string | undefined): ServerVersion | null {
  const m = VERSION.exec(text?.trim() ?? "");
  if (!m) return null;
  const prerelease = m[4] ? m[4].split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease };
}

/** Semver order: a pre-release sorts before its release (`2.12.0-RC.1` < `2.12.0`). */
export function compareServerVersions(a: ServerVersion, b: ServerVersion): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const [x, y] = [a.prerelease[i]!, b.prerelease[i]!];
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return Math.sign(x - y);
    // Numeric identifiers sort before alphanumeric ones; strings compare by ASCII.
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/** True when `version` parses and is at least `minimum`. */
export function atLeast(version: string | undefined, minimum: string): boolean {
  const v = parseServerVersion(version);
  const min = parseServerVersion(minimum);
  if (!min) throw new RangeError(`not a version: ${minimum}`);
  return v !== null && compareServerVersions(v, min) >= 0;
}

export class UnsupportedServerError extends JetbusError {
  constructor(message: string, details: { server: string | null; needs: string; feature?: ServerFeature }) {
    super(ErrorCodes.UnsupportedServer, message, { details });
  }
}

/** `null` when the server is supported; otherwise the error to throw, naming its version, the floor and the fix. */
export function checkServerVersion(version: string | undefined): UnsupportedServerError | null {
  if (atLeast(version, SERVER_FLOOR)) return null;
  const server = describeVersion(version);
  return new UnsupportedServerError(
    `nats-server ${server} is not supported: jetbus needs nats-server ${SERVER_FLOOR.replace(/\.0$/, "")} ` +
      `or newer (message schedules, per-message TTL). ${SERVER_UPGRADE_HINT}`,
    { server: version ?? null, needs: SERVER_FLOOR },
  );
}

/** `null` when the server has `feature`; otherwise the error naming the feature and both versions. */
export function checkServerFeature(
  version: string | undefined,
  feature: ServerFeature,
): UnsupportedServerError | null {
  const needs = SERVER_FEATURES[feature];
  if (atLeast(version, needs)) return null;
  return new UnsupportedServerError(
    `the feature "${feature}" needs nats-server ${needs} or newer; this server is ${describeVersion(version)}. ` +
      "Upgrade the server (the `nats:2.15-alpine` image, `brew upgrade nats-server`, or " +
      "`scripts/fetch-nats-server.sh`), or do without this feature.",
    { server: version ?? null, needs, feature },
  );
}

function describeVersion(version: string | undefined): string {
  if (version === undefined || version === "") return "of unknown version";
  return parseServerVersion(version) ? version : `of unreadable version ${JSON.stringify(version)}`;
}

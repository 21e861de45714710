/**
 * @module
 * A current nats-server for the test command and `npm start`, fetched once when there is none: where apt exists
 * (Debian and its derivatives) `scripts/fetch-nats-server.sh` unpacks the newest build from Debian's testing
 * suite into .jetbus/bin, without changing the system's apt state. Elsewhere the error lists the other ways.
 * The launcher itself never fetches: this runs before any test or service, once.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NatsServerNotFoundError, searchNatsServer } from "./nats-binary.ts";

/** The fetch script shipped with this package. */
export const FETCH_NATS_SERVER_SCRIPT = fileURLToPath(
  new URL("../../scripts/fetch-nats-server.sh", import.meta.url),
);

/** Whether {@link FETCH_NATS_SERVER_SCRIPT} can work here: bash, apt-get and dpkg-deb are all present. */
export function canFetchNatsServer(): boolean {
  const r = spawnSync("bash", ["-c", "command -v apt-get && command -v dpkg-deb"], { stdio: "ignore" });
  return r.status === 0;
}

export interface EnsureNatsServerOptions {
  /** Where progress lines go (the script's own output goes to stderr). @defaultValue process.stderr */
  log?: (line: string) => void;
}

/**
 * The first current (2.12+) nats-server; when there is none, runs the fetch script where apt exists and looks
 * again. Throws {@link NatsServerNotFoundError} (naming any older binary it skipped) when that is not possible
 * or did not help.
 */
export function ensureNatsServerBinary(opts: EnsureNatsServerOptions = {}): {
  path: string;
  version: string;
  fetched: boolean;
} {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const first = searchNatsServer();
  if (first.found) return { ...first.found, fetched: false };
  const notFound = new NatsServerNotFoundError(first.looked, first.skipped);
  if (!canFetchNatsServer()) throw notFound;
  const skipped = first.skipped.map((s) => `${s.path} (${s.version ? `v${s.version}` : "no version"})`);
  log(
    `no nats-server 2.12+ found${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}: ` +
      `fetching the newest one from Debian's testing suite (${FETCH_NATS_SERVER_SCRIPT})`,
  );
  const r = spawnSync("bash", [FETCH_NATS_SERVER_SCRIPT], { stdio: ["ignore", "inherit", "inherit"] });
  const again = searchNatsServer();
  if (r.status === 0 && again.found) return { ...again.found, fetched: true };
  throw notFound;
}

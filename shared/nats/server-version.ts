/**
 * @module
 * The supported server range, enforced on a live connection: the version comes from the server's INFO
 * (`nc.info.version`), which the client replaces on every reconnect — so a process that passed the check at
 * start is told when a reconnect lands on an older node (a mixed cluster, a downgraded server).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  checkServerFeature,
  checkServerVersion,
  type ServerFeature,
  type UnsupportedServerError,
} from "../protocol/server-version.ts";
import { onReconnect } from "./reconnects.ts";

/** The connected server's version as it reports it, e.g. `2.15.1`; `undefined` before the first INFO. */
export function serverVersionOf(nc: NatsConnection): string | undefined {
  return nc.info?.version;
}

/** Throws `UNSUPPORTED_SERVER` (naming the version, the 2.12 floor and how to upgrade) unless supported. */
export function requireSupportedServer(nc: NatsConnection): string {
  const version = serverVersionOf(nc);
  const err = checkServerVersion(version);
  if (err) throw err;
  return version!;
}

/**
 * For features newer than the floor: throws `UNSUPPORTED_SERVER` naming the feature, the version it needs and
 * the server's, unless the connected server has it.
 *
 * @example
 * requireServerFeature(nc, "recurring schedules"); // before publishing `Nats-Schedule: @every 5m`
 */
export function requireServerFeature(nc: NatsConnection, feature: ServerFeature): void {
  const err = checkServerFeature(serverVersionOf(nc), feature);
  if (err) throw err;
}

/** Whether the connected server has `feature` (to pick a fallback rather than fail). */
export function serverHasFeature(nc: NatsConnection, feature: ServerFeature): boolean {
  return checkServerFeature(serverVersionOf(nc), feature) === null;
}

export interface ServerVersionWatch {
  /** `null` while the current server is supported, else why not. */
  readonly problem: UnsupportedServerError | null;
}

/**
 * Re-checks the version after every reconnect and calls `onChange` when support is lost or regained. The
 * process keeps its connection either way (the client will move on when that node goes away); callers log
 * and report not-ready, so nothing routes work to it meanwhile.
 */
export function watchServerVersion(
  nc: NatsConnection,
  onChange: (problem: UnsupportedServerError | null, version: string | undefined) => void,
): ServerVersionWatch {
  const watch = { problem: checkServerVersion(serverVersionOf(nc)) };
  onReconnect(nc, () => {
    const problem = checkServerVersion(serverVersionOf(nc));
    if ((problem === null) === (watch.problem === null)) return;
    watch.problem = problem;
    onChange(problem, serverVersionOf(nc));
  });
  return watch;
}

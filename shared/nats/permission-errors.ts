/**
 * @module
 * Recognising what NATS refuses, and saying it with a code. A request-style call (JetStream API, KV, a request)
 * that the user's permissions forbid rejects with a `RequestError` whose `cause` is a
 * `PermissionViolationError`; a fire-and-forget publish, ack or pull shows the same error only as a status
 * event (`nc.status()` type "error"), which connection.ts logs and counts.
 */
import { PermissionViolationError } from "@nats-io/transport-node";
import { JetbusError } from "../protocol/errors.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";

/** The permission violation behind `err` (itself or its cause), or null. */
export function permissionViolation(err: unknown): PermissionViolationError | null {
  if (err instanceof PermissionViolationError) return err;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof PermissionViolationError ? cause : null;
}

/** `PERMISSION_DENIED` naming what was refused, or null when `err` is not a permission violation. */
export function permissionDenied(err: unknown, doing: string): JetbusError | null {
  const v = permissionViolation(err);
  if (!v) return null;
  return new JetbusError(
    ErrorCodes.PermissionDenied,
    `${doing}: this NATS user may not ${v.operation === "publish" ? "publish to" : "subscribe to"} ${v.subject} (check the role's permissions in the NATS server configuration)`,
    { cause: err, details: { operation: v.operation, subject: v.subject } },
  );
}

/**
 * A resource this user needed to create (it was missing) and may not: provisioning is an operator's job
 * (`jetbus init --apply`, or a process connected as the operator user).
 */
export function notProvisioned(resource: string, err: unknown): JetbusError | null {
  const v = permissionViolation(err);
  if (!v) return null;
  return new JetbusError(
    ErrorCodes.NotProvisioned,
    `${resource} does not exist, and this NATS user may not create it (${v.subject} is not allowed): provision the JetStream layout with the operator user first (jetbus init --apply)`,
    { cause: err, details: { resource, subject: v.subject } },
  );
}

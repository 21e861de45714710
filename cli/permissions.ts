/**
 * @module
 * `jetbus permissions worker --queues q1,q2 --handlers ./handlers.ts [--name VAR]`: prints the NATS permissions
 * of a worker role for those queues and the job types the handler modules register (the same modules and
 * queues as the worker's JETBUS_HANDLERS and JETBUS_QUEUES). Paste the block into deploy/nats/jetbus-permissions.conf
 * and give a user that `permissions: $VAR`; see docs/going-to-production.md.
 */
import { loadHandlers } from "../services/worker/load-handlers.ts";
import { JetbusError } from "../shared/protocol/errors.ts";
import { ErrorCodes } from "../shared/protocol/error-codes.ts";
import { renderWorkerPermissions } from "./worker-permissions.ts";

export async function permissions(
  role: string | undefined,
  opts: { queues?: string; handlers?: string; name?: string },
): Promise<number> {
  if (role !== "worker" || !opts.handlers)
    throw new JetbusError(
      ErrorCodes.Validation,
      "usage: jetbus permissions worker --handlers <modules, comma-separated> [--queues default] [--name VAR]",
    );
  const queues = (opts.queues ?? "default")
    .split(",")
    .map((q) => q.trim())
    .filter(Boolean);
  const handlers = opts.handlers
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  const types: string[] = [];
  await loadHandlers(handlers, { register: (type) => void types.push(type), use: () => undefined });
  const command = `jetbus permissions worker --queues ${queues.join(",")} --handlers ${handlers.join(",")}${opts.name ? ` --name ${opts.name}` : ""}`;
  process.stdout.write(
    renderWorkerPermissions({ queues, types, ...(opts.name ? { variable: opts.name } : {}) }, command),
  );
  return 0;
}

/**
 * @module
 * Names nobody else uses: tests inside one file share a server and isolate themselves by job type and queue.
 */
import { randomBytes } from "node:crypto";

/** `<prefix>-<6 hex>`: a job type or queue no other test (or earlier run on a reused server) uses. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

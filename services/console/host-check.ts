/**
 * @module
 * DNS rebinding: a page on an attacker's name that resolves to 127.0.0.1 is same-origin with itself, so
 * SameSite cookies and the Origin check do not stop it reading the API; its requests carry the attacker's
 * name as `Host`. Only the loopback names and the configured ones (`JETBUS_CONSOLE_HOSTS`) are served.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import type { ConsoleEnv } from "./deps.ts";

export const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"] as const;

/** A configured host name: a DNS name, an IPv4 address, or a bracketed IPv6 address; no port. */
export const HOST_NAME =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/i;

/** The `Host` header's name without its port, lower-cased; null when there is none or it is not a name. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1]!.toLowerCase() : null;
}

export function hostAllowed(header: string | undefined, configured: readonly string[]): boolean {
  const name = hostName(header);
  return name !== null && (LOOPBACK_HOSTS as readonly string[]).concat(configured).includes(name);
}

/** @example app.use("*", checkHost(config.hosts)) */
export function checkHost(configured: readonly string[]): MiddlewareHandler<ConsoleEnv> {
  const allowed = configured.map((h) => h.toLowerCase());
  return createMiddleware<ConsoleEnv>(async function checkHost(c, next) {
    if (!hostAllowed(c.req.header("host"), allowed))
      return c.json(
        {
          error: {
            code: ErrorCodes.PermissionDenied,
            message:
              "this console does not answer to that host name (JETBUS_CONSOLE_HOSTS lists the allowed ones)",
          },
        },
        403,
      );
    await next();
  });
}

/**
 * @module
 * The console's middleware, outermost first: `loadSession` (the cookie's session, or none),
 * `requireOperator` (state-changing routes: a signed-in operator, and the session's CSRF token in the
 * `x-csrf-token` header), and `toResponse` (the one place an error becomes a response: a `JetbusError`'s code
 * picks the status; anything else is logged and answered without its message).
 */
import type { Context, ErrorHandler, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import { JetbusError } from "../../shared/protocol/errors.ts";
import type { Logger } from "../../shared/telemetry/logger.ts";
import type { ConsoleEnv } from "./deps.ts";
import { sameToken, type Sessions } from "./sessions.ts";

export const SESSION_COOKIE = "jetbus_session";
export const CSRF_HEADER = "x-csrf-token";

/** @example app.use("*", loadSession(sessions)) */
export function loadSession(sessions: Sessions): MiddlewareHandler<ConsoleEnv> {
  return createMiddleware<ConsoleEnv>(async function loadSession(c, next) {
    c.set("session", sessions.find(getCookie(c, SESSION_COOKIE)));
    await next();
  });
}

/**
 * @example app.post("/api/dlq/:seq/replay", requireOperator(readOnly), handler)
 * Read-only consoles (no operators configured) refuse every action, signed in or not.
 */
export function requireOperator(readOnly: boolean): MiddlewareHandler<ConsoleEnv> {
  return createMiddleware<ConsoleEnv>(async function requireOperator(c, next) {
    if (readOnly)
      throw new JetbusError(
        ErrorCodes.PermissionDenied,
        "this console is read-only: no operators are configured (JETBUS_CONSOLE_USERS)",
      );
    const s = c.get("session");
    if (!s) throw new JetbusError(ErrorCodes.Unauthorized, "sign in as an operator to do this");
    const token = c.req.header(CSRF_HEADER) ?? "";
    if (!sameToken(token, s.csrf))
      throw new JetbusError(ErrorCodes.PermissionDenied, "missing or stale CSRF token: reload the page");
    await next();
  });
}

const STATUS: Record<string, 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503> = {
  [ErrorCodes.Validation]: 400,
  [ErrorCodes.Unauthorized]: 401,
  [ErrorCodes.PermissionDenied]: 403,
  [ErrorCodes.NotFound]: 404,
  [ErrorCodes.Conflict]: 409,
  [ErrorCodes.PayloadTooLarge]: 413,
  [ErrorCodes.RateLimited]: 429,
  [ErrorCodes.Unavailable]: 503,
};

export function toResponse(log: Logger): ErrorHandler<ConsoleEnv> {
  return function toResponse(err: Error, c: Context<ConsoleEnv>) {
    if (err instanceof JetbusError && STATUS[err.code])
      return c.json({ error: { code: err.code, message: err.message } }, STATUS[err.code]!);
    log.error({ err: String(err), path: c.req.path }, "console request failed");
    return c.json(
      { error: { code: ErrorCodes.Internal, message: "internal error (see the console's log)" } },
      500,
    );
  };
}

/**
 * @module
 * Signing in and out. `GET /api/session` tells the page who is signed in, the session's CSRF token, whether
 * the console is read-only and where traces are; `POST` signs in with a name and a secret (password or
 * token), `DELETE` signs out. The session id travels only in an HttpOnly, SameSite=Strict cookie. Five failed
 * sign-ins for a name from one client address block that pair, with a growing backoff up to 15 minutes
 * (`sign-in-throttle.ts`).
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { Type } from "@sinclair/typebox";
import { ErrorCodes } from "../../../shared/protocol/error-codes.ts";
import { JetbusError } from "../../../shared/protocol/errors.ts";
import { actionsTotal } from "../audit.ts";
import type { ConsoleDeps, ConsoleEnv } from "../deps.ts";
import { SESSION_COOKIE } from "../middleware.ts";
import { verifyOperator } from "../operators.ts";
import { SignInThrottle } from "../sign-in-throttle.ts";
import { readBody } from "./body.ts";

const SignIn = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 64 }),
    secret: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

/** The peer's address (not a forwarded header, which anyone can write); "-" outside a Node server (tests). */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "-";
  } catch {
    return "-";
  }
}

export function sessionRoutes(d: ConsoleDeps): Hono<ConsoleEnv> {
  const readOnly = d.config.operators.length === 0;
  const throttle = new SignInThrottle();
  return new Hono<ConsoleEnv>()
    .get("/", (c) => {
      const s = c.get("session");
      return c.json({
        user: s?.user ?? null,
        csrf: s?.csrf ?? null,
        readOnly,
        jaegerUrl: d.config.jaegerUrl,
      });
    })
    .post("/", async (c) => {
      const { user, secret } = await readBody(c, SignIn);
      if (readOnly)
        throw new JetbusError(
          ErrorCodes.PermissionDenied,
          "this console is read-only: no operators are configured",
        );
      const from = clientAddress(c);
      const wait = throttle.blockedFor(user, from);
      if (wait > 0)
        throw new JetbusError(
          ErrorCodes.RateLimited,
          `too many failed sign-ins for this name from here: try again in ${Math.ceil(wait / 1_000)} s`,
        );
      const op = await verifyOperator(d.config.operators, user, secret);
      if (!op) {
        throttle.failed(user, from);
        actionsTotal.inc({ action: "sign_in", user: "-", outcome: "error" });
        d.log.warn({ action: "sign_in" }, "console sign-in refused");
        throw new JetbusError(ErrorCodes.Unauthorized, "wrong user name or secret");
      }
      throttle.succeeded(user, from);
      const s = d.sessions.open(op.name);
      setCookie(c, SESSION_COOKIE, s.id, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        secure: d.config.secureCookies,
        maxAge: Math.floor(d.config.sessionTtlMs / 1000),
      });
      actionsTotal.inc({ action: "sign_in", user: op.name, outcome: "ok" });
      d.log.info({ user: op.name, action: "sign_in" }, "console action");
      return c.json({ user: op.name, csrf: s.csrf, readOnly, jaegerUrl: d.config.jaegerUrl });
    })
    .delete("/", (c) => {
      const id = getCookie(c, SESSION_COOKIE);
      if (id) d.sessions.close(id);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.json({ user: null });
    });
}

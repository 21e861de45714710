/**
 * @module
 * The console's Hono app: security headers (a strict CSP: this origin's scripts and the import map only),
 * a body limit, the session, the routes, and one error handler. `/healthz`, `/readyz` and `/metrics` are the
 * service shell's, on the same port.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { ErrorCodes } from "../../shared/protocol/error-codes.ts";
import type { ConsoleDeps, ConsoleEnv } from "./deps.ts";
import { loadSession, toResponse } from "./middleware.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { eventRoutes } from "./routes/events.ts";
import { queueRoutes } from "./routes/queues.ts";
import { sessionRoutes } from "./routes/session.ts";
import { pageRoutes } from "./routes/static.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { scanSlot, ScanSlots } from "./scan-slots.ts";
import { checkHost } from "./host-check.ts";

const MAX_BODY_BYTES = 16 * 1024;

export function consoleApp(d: ConsoleDeps): Hono<ConsoleEnv> {
  const page = pageRoutes();
  const app = new Hono<ConsoleEnv>();
  app.use("*", checkHost(d.config.hosts));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", `'${page.importMapHash}'`],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
      },
    }),
  );
  // A browser on another origin cannot post here (Origin / Sec-Fetch-Site); actions also need the CSRF token.
  app.use("/api/*", csrf());
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          {
            error: {
              code: ErrorCodes.PayloadTooLarge,
              message: `request bodies are at most ${MAX_BODY_BYTES} bytes`,
            },
          },
          413,
        ),
    }),
  );
  app.use("*", loadSession(d.sessions));
  const scans = scanSlot(new ScanSlots(d.config.maxScans));
  app.get("/api/dlq", scans);
  app.post("/api/dlq/count", scans);
  app.post("/api/dlq/replay", scans);
  app.post("/api/dlq/discard", scans);
  app.get("/api/lookup/:id", scans);
  app.route("/api/session", sessionRoutes(d));
  app.route("/api/queues", queueRoutes(d));
  app.route("/api/dlq", deadLetterRoutes(d));
  app.route("/api/events", eventRoutes(d));
  app.route("/api", workflowRoutes(d));
  app.route("/", page.routes);
  app.notFound((c) =>
    c.json({ error: { code: ErrorCodes.NotFound, message: `${c.req.path} not found` } }, 404),
  );
  app.onError(toResponse(d.log));
  return app;
}

/**
 * @module
 * Console configuration, read once by a pure function that reports every bad key. It binds to 127.0.0.1
 * unless JETBUS_HTTP_HOST says otherwise, and is read-only unless operators are configured.
 */
import { readFileSync } from "node:fs";
import { readCommon, type CommonConfig } from "../../shared/service/common-config.ts";
import { EnvReader, type Env } from "../../shared/service/env.ts";
import { HOST_NAME } from "./host-check.ts";
import { parseOperators, type Operator } from "./operators.ts";

export interface ConsoleConfig {
  common: CommonConfig;
  /** operators who may replay, discard, cancel and pause; none = read-only */
  operators: Operator[];
  /** Jaeger's UI, for links to a dispatch's trace (`<url>/search?service=…&tags=…`); absent = no links */
  jaegerUrl: string | null;
  /** how long a signed-in session lasts */
  sessionTtlMs: number;
  /** mark the session cookie Secure (behind TLS) */
  secureCookies: boolean;
  /** open event streams at once, across all pages */
  maxEventStreams: number;
  /** host names the console answers to besides 127.0.0.1, localhost and [::1] (`Host` header) */
  hosts: string[];
  /** dead-letter scans (pages, counts, bulk actions, lookups) at once; more are refused */
  maxScans: number;
}

export function loadConfig(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): ConsoleConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, 9104, "127.0.0.1");
  const inline = r.optional("JETBUS_CONSOLE_USERS") ?? "";
  const file = r.optional("JETBUS_CONSOLE_USERS_FILE");
  let text = inline;
  if (file) {
    try {
      text += `\n${readFile(file)}`;
    } catch (err) {
      r.check(
        false,
        `JETBUS_CONSOLE_USERS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  }
  const { operators, problems } = parseOperators(text);
  for (const p of problems) r.check(false, `JETBUS_CONSOLE_USERS: ${p}`);
  const jaeger = r.optional("JETBUS_JAEGER_URL");
  r.check(!jaeger || /^https?:\/\/[^\s]+$/.test(jaeger), "JETBUS_JAEGER_URL must be an http(s) URL");
  const hosts = (r.optional("JETBUS_CONSOLE_HOSTS") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of hosts)
    r.check(
      HOST_NAME.test(h),
      `JETBUS_CONSOLE_HOSTS: ${JSON.stringify(h)} is not a host name (no port, no scheme)`,
    );
  const cfg: ConsoleConfig = {
    common,
    operators,
    jaegerUrl: jaeger ? jaeger.replace(/\/+$/, "") : null,
    sessionTtlMs: r.int("JETBUS_CONSOLE_SESSION_TTL_MS", 8 * 3_600_000, { min: 60_000 }),
    secureCookies: r.bool("JETBUS_CONSOLE_SECURE_COOKIES", false),
    maxEventStreams: r.int("JETBUS_CONSOLE_MAX_EVENT_STREAMS", 100, { min: 1 }),
    hosts,
    maxScans: r.int("JETBUS_CONSOLE_MAX_SCANS", 4, { min: 1 }),
  };
  r.done();
  return cfg;
}

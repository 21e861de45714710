/**
 * @module
 * The page: `index.html`, the view modules under `/ui/`, and Preact + htm as ES modules from this
 * installation's node_modules under `/vendor/` (no CDN, no build step). Read once at start; an import map in
 * the page names the vendor modules, and the CSP admits it by its hash and nothing else inline.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { ConsoleEnv } from "../deps.ts";

const UI_DIR = fileURLToPath(new URL("../ui/", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
const VENDOR: Record<string, string> = {
  "preact.mjs": "preact",
  "hooks.mjs": "preact/hooks",
  "htm.mjs": "htm",
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export interface Page {
  routes: Hono<ConsoleEnv>;
  /** the CSP `script-src` hash of the page's inline import map */
  importMapHash: string;
}

export function pageRoutes(): Page {
  const files = new Map<string, { body: string; type: string }>();
  for (const p of walk(UI_DIR)) {
    const type = TYPES[extname(p)];
    if (type)
      files.set(`/ui/${relative(UI_DIR, p).split("\\").join("/")}`, { body: readFileSync(p, "utf8"), type });
  }
  for (const [name, spec] of Object.entries(VENDOR))
    files.set(`/vendor/${name}`, {
      body: readFileSync(fileURLToPath(import.meta.resolve(spec)), "utf8"),
      type: TYPES[".mjs"]!,
    });
  const index = files.get("/ui/index.html")!.body;
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(index)?.[1] ?? "";
  const importMapHash = `sha256-${createHash("sha256").update(importMap).digest("base64")}`;
  const routes = new Hono<ConsoleEnv>()
    .get("/", (c) => c.body(index, 200, { "content-type": TYPES[".html"]!, "cache-control": "no-cache" }))
    .get("/ui/*", (c) => {
      const f = files.get(c.req.path);
      return f ? c.body(f.body, 200, { "content-type": f.type, "cache-control": "no-cache" }) : c.notFound();
    })
    .get("/vendor/*", (c) => {
      const f = files.get(c.req.path);
      return f
        ? c.body(f.body, 200, { "content-type": f.type, "cache-control": "max-age=3600" })
        : c.notFound();
    });
  return { routes, importMapHash };
}

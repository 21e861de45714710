/**
 * @module
 * Debian's Chromium driven by playwright-core for the console's browser tests: found on PATH (or
 * CHROMIUM_PATH), launched headless with a fresh user-data dir and without background traffic. Where there
 * is no Chromium the tests skip and say why. Screenshots go to test-artifacts/console (git-ignored).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";

export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../test-artifacts/console");

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

/** The Chromium binary, or why there is none (the reason a skipped test prints). */
export function findChromium(): { path: string } | { skip: string } {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv)
    return existsSync(fromEnv) ? { path: fromEnv } : { skip: `CHROMIUM_PATH=${fromEnv} does not exist` };
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
      if (path) return { path };
    } catch {
      // not this name
    }
  }
  return {
    skip: "no Chromium on PATH (apt-get install -y --no-install-recommends chromium, as .ci/run does)",
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context on a fresh user-data dir: each launch starts with no cookies and no cache. */
export async function launchChromium(path: string): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "jetbus-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: path,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, `${name}.png`);
}

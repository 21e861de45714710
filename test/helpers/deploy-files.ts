/**
 * @module
 * The deployment files as the deploy tests read them: paths from the repo root, every manifest under a folder,
 * and the facts several files must agree on (the pinned nats image, the jetbus NATS account).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const read = (p: string) => readFileSync(join(root, p), "utf8");

/** Every file under `dir` (relative to the repo root), recursively, as repo-relative paths. */
export function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The nats image every manifest pins: a stated minor of the current line that CI has run (it ran 2.15.1). */
export const PINNED_NATS_IMAGE = "nats:2.15-alpine";

/** The account deploy/nats/jetbus-accounts.conf defines: the one jetbus's streams live in. */
export const JETBUS_ACCOUNT = /^accounts\s*\{\s*(\w+)\s*:/m.exec(
  read("deploy/nats/jetbus-accounts.conf"),
)?.[1];

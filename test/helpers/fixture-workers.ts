/**
 * @module
 * Worker processes running `test/fixtures/workflow-handlers.ts`, one prefix and one run log per test, and
 * the run log read back: how the process tests count handler runs across processes (and crashes).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FixtureRun } from "../fixtures/workflow-handlers.ts";
import { spawnService, type ServiceProcess } from "./processes.ts";
import type { Env } from "./mesh.ts";

const handlers = resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures/workflow-handlers.ts");
const dir = mkdtempSync(join(tmpdir(), "jetbus-runs-"));
process.once("exit", () => rmSync(dir, { recursive: true, force: true }));

let n = 0;

export interface Fixture {
  prefix: string;
  runlog: string;
  /** job type `<prefix>:<name>` */
  type(name: "member" | "step" | "then" | "catch" | "finally" | "progress"): string;
  env: Env;
  runs(): FixtureRun[];
  count(name: "member" | "step" | "then" | "catch" | "finally" | "progress"): number;
  worker(extra?: Env, opts?: { waitReady?: boolean }): Promise<ServiceProcess>;
}

/** A fresh fixture (own job types and run log); its workers connect to `natsUrl`. */
export function fixture(name: string, natsUrl: string): Fixture {
  const prefix = `${name}-${process.pid}-${++n}`;
  const runlog = join(dir, `${prefix}.jsonl`);
  const env: Env = {
    JETBUS_HANDLERS: handlers,
    JETBUS_FIXTURE_PREFIX: prefix,
    JETBUS_FIXTURE_RUNLOG: runlog,
  };
  const f: Fixture = {
    prefix,
    runlog,
    env,
    type: (t) => `${prefix}:${t}`,
    runs() {
      let text = "";
      try {
        text = readFileSync(runlog, "utf8");
      } catch {
        return [];
      }
      return text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FixtureRun);
    },
    count(t) {
      return f.runs().filter((r) => r.type === f.type(t)).length;
    },
    worker(extra = {}, opts = {}) {
      return spawnService("worker", natsUrl, { ...env, ...extra }, opts);
    },
  };
  return f;
}

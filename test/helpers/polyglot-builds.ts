/**
 * @module
 * Building the Go and C clients for their tests: offline, with Debian's packages, into a temp folder named by
 * the sources' hash (an unchanged client is compiled once per machine). Python needs no build.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDir, EXAMPLES, missingTools, ROOT } from "./polyglot.ts";

function buildOnce(
  lang: string,
  src: string,
  compile: (bin: string) => [string, string[], NodeJS.ProcessEnv?],
): string {
  const { dir, fresh } = buildDir(lang, src);
  const bin = join(dir, "jetbus-example");
  if (fresh) {
    const [cmd, args, env] = compile(bin);
    const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
    writeFileSync(join(dir, ".built"), "");
  }
  return bin;
}

/** nats.go 1.22.1 from golang-github-nats-io-go-nats-dev, GOPATH mode (no modules, no network). */
export const GO = {
  skip: missingTools([
    ["go", ["version"]],
    ["test", ["-d", "/usr/share/gocode/src/github.com/nats-io/nats.go"]],
  ]),
  hint: "apt-get install golang-go golang-github-nats-io-go-nats-dev",
  build: () =>
    buildOnce("go", join(EXAMPLES, "go"), (bin) => [
      "go",
      ["build", "-o", bin, "./examples/go"],
      {
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        GOCACHE: join(tmpdir(), "jetbus-gocache"),
        GOFLAGS: "",
      },
    ]),
};

const C_PKGS = ["libnats", "jansson", "libcrypto"];

/** libnats 3.4.1 and jansson from Debian, sha256 from libcrypto, flags from pkg-config. */
export const C = {
  skip: missingTools([
    ["cc", ["--version"]],
    ["pkg-config", ["--exists", ...C_PKGS]],
  ]),
  hint: "apt-get install libnats-dev libjansson-dev libssl-dev pkg-config gcc",
  build: () => {
    const src = join(EXAMPLES, "c");
    return buildOnce("c", src, (bin) => {
      const flags = spawnSync("pkg-config", ["--cflags", "--libs", ...C_PKGS], { encoding: "utf8" })
        .stdout.trim()
        .split(/\s+/);
      const sources = readdirSync(src)
        .filter((f) => f.endsWith(".c"))
        .map((f) => join(src, f));
      return ["cc", ["-O2", "-Wall", "-Werror", "-o", bin, ...sources, ...flags, "-lpthread"]];
    });
  },
};

export const PYTHON = {
  skip: missingTools([["python3", ["--version"]]]),
  hint: "python3 is needed",
  script: join(EXAMPLES, "python/example.py"),
};

/**
 * @module
 * The `jetbus` command. Services: `jetbus dispatcher|coordinator|worker` (configured by env, see README).
 * Tools: `jetbus dev` (the whole mesh locally, what `npm start` runs), `jetbus queues`, `jetbus batch <id>
 * [--watch]`, `jetbus chain <id>`, `jetbus prune --before <date>`, `jetbus dlq list|show|replay`, `jetbus permissions
 * worker` (a worker role's NATS permissions), `jetbus nkeys <dir>` (a key pair per role).
 */
import { parseArgs } from "node:util";
import { JetbusError } from "../shared/protocol/errors.ts";
import { ConfigError } from "../shared/service/env.ts";

const HELP = `usage: jetbus <command> [options]

services (configured by environment variables, see README):
  dispatcher                 answer dispatch/chain/batch requests, forward delayed jobs
  coordinator                keep chain and batch state, publish successors and callbacks
  worker                     run the handlers in JETBUS_HANDLERS on JETBUS_QUEUES

tools (NATS_URL, default 127.0.0.1:4222):
  dev                        run nats-server (if NATS_URL is unset), all services and a demo
  queues                     jobs ready / delayed / in flight per (queue, type), and live workers
  batch <id> [--watch]       a batch's state; --watch shows a live progress bar until it ends
  chain <id>                 a chain's state
  prune --before <date>      remove finished chains and batches last changed before <date>
  dlq list [--queue q] [--type t] [--limit n]
  dlq show <seq>
  dlq replay <seq>           put a dead-lettered job back with fresh attempts
  dlq remove <seq>           delete a dead letter
  permissions worker --handlers <modules> [--queues q1,q2] [--name VAR]
                             the NATS permissions of a worker role (deploy/nats/jetbus-permissions.conf)
  nkeys <dir> [--roles a,b]  an nkey pair per role of deploy/nats: <dir>/<role>.nk seeds, <dir>/nkeys.env
`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "dispatcher":
      await (await import("../services/dispatcher/main.ts")).main();
      return -1;
    case "coordinator":
      await (await import("../services/coordinator/main.ts")).main();
      return -1;
    case "worker":
      await (await import("../services/worker/main.ts")).main();
      return -1;
    case "dev":
      await (await import("./dev.ts")).dev();
      return -1;
    case "queues":
      return (await import("./inspect.ts")).queues();
    case "batch":
    case "chain": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { watch: { type: "boolean" } },
        allowPositionals: true,
      });
      const id = positionals[0];
      if (!id)
        throw new JetbusError(
          "VALIDATION",
          `usage: jetbus ${command} <id>${command === "batch" ? " [--watch]" : ""}`,
        );
      return (await import("./inspect.ts")).workflow(command, id, values.watch ?? false);
    }
    case "prune": {
      const { values } = parseArgs({ args: rest, options: { before: { type: "string" } } });
      const before = values.before ? new Date(values.before) : null;
      if (!before || Number.isNaN(before.getTime()))
        throw new JetbusError(
          "VALIDATION",
          "usage: jetbus prune --before <date, e.g. 2026-01-31 or an ISO time>",
        );
      return (await import("./inspect.ts")).prune(before);
    }
    case "dlq": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { queue: { type: "string" }, type: { type: "string" }, limit: { type: "string" } },
        allowPositionals: true,
      });
      return (await import("./inspect.ts")).dlq(positionals, values);
    }
    case "permissions": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { queues: { type: "string" }, handlers: { type: "string" }, name: { type: "string" } },
        allowPositionals: true,
      });
      return (await import("./permissions.ts")).permissions(positionals[0], values);
    }
    case "nkeys": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { roles: { type: "string" } },
        allowPositionals: true,
      });
      return (await import("./nkeys.ts")).nkeysCommand(positionals[0], values);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof JetbusError)
      process.stderr.write(`jetbus: ${err.message}\n`);
    else process.stderr.write(`jetbus: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);

/**
 * @module
 * The `jetbus` command. Services: `jetbus dispatcher|coordinator|worker` (configured by env, see README).
 * Services: also `jetbus console` (the web console). Scripts: `jetbus dispatch <type>`, `jetbus events`.
 * Tools: `jetbus dev` (the whole mesh locally, what `npm start` runs), `jetbus init [--apply]`, `jetbus queues`,
 * `jetbus batch <id> [--watch]`, `jetbus chain <id>`, `jetbus prune --before <date>`, `jetbus dlq list|show|replay`,
 * `jetbus conformance --queue Q --type T` (checks a worker in any language against the protocol),
 * `jetbus permissions worker` (a worker role's NATS permissions), `jetbus nkeys <dir>` (a key pair per role).
 */
import { parseArgs } from "node:util";
import { JetbusError } from "../shared/protocol/errors.ts";
import { ConfigError } from "../shared/service/env.ts";

const HELP = `usage: jetbus <command> [options]

services (configured by environment variables, see README):
  dispatcher                 answer dispatch/chain/batch requests, forward delayed jobs
  coordinator                keep chain and batch state, publish successors and callbacks
  worker                     run the handlers in JETBUS_HANDLERS on JETBUS_QUEUES
  console                    the web console (http://127.0.0.1:9104 unless JETBUS_HTTP_HOST/PORT say otherwise)

scripts (NATS_URL, default 127.0.0.1:4222; output is JSON lines):
  dispatch <type> [--payload JSON] [--queue q] [--wait] [--timeout-ms n]
                             dispatch a job; --wait prints its outcome (exit 1 if it failed)
  events [--follow] [--kind k]… [--id id] [--since -15m|ISO]
                             the events since --since (default 15 min ago); --follow keeps following

tools (NATS_URL, default 127.0.0.1:4222):
  dev                        run nats-server (if NATS_URL is unset), all services and a demo
  init [--apply]             the plan that brings streams, buckets and consumers in step with the
                             JETBUS_* configuration (services never change what exists); --apply does it
  queues                     jobs ready / delayed / in flight per (queue, type), and live workers
  batch <id> [--watch]       a batch's state; --watch shows a live progress bar until it ends
  chain <id>                 a chain's state
  prune --before <date>      remove finished chains and batches last changed before <date>
  dlq list [--filter F] [--queue q] [--type t] [--limit n]
  dlq show <seq>
  dlq replay <seq>           put a dead-lettered job back with fresh attempts
  dlq remove|discard <seq>   delete a dead letter
  dlq replay|discard --filter F [--yes]
                             every dead letter matching F (the console's filter: queue=,type=,reason=,
                             batch=,since=,until= joined by commas; times ISO, epoch ms or -30m); states the
                             count and asks first (without a terminal: --yes)
  console-user <name> [--token]
                             an operator entry for JETBUS_CONSOLE_USERS (password on stdin, or a new token)
  permissions worker --handlers <modules> [--queues q1,q2] [--name VAR]
                             the NATS permissions of a worker role (deploy/nats/jetbus-permissions.conf)
  nkeys <dir> [--roles a,b]  an nkey pair per role of deploy/nats: <dir>/<role>.nk seeds, <dir>/nkeys.env
  conformance --queue Q --type T [--inbox-prefix P] [--timeout-ms N]
                             check the worker serving T on Q against every protocol rule (docs/protocol.md §8);
                             run it with the worker's JETBUS_ACK_WAIT_MS (a short one: 2000)
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
    case "console":
      await (await import("../services/console/main.ts")).main();
      return -1;
    case "console-user": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { token: { type: "boolean" } },
        allowPositionals: true,
      });
      return (await import("./console-user.ts")).consoleUser(positionals[0], values.token ?? false);
    }
    case "dispatch": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          payload: { type: "string" },
          queue: { type: "string" },
          wait: { type: "boolean" },
          "timeout-ms": { type: "string" },
        },
        allowPositionals: true,
      });
      return (await import("./scripting.ts")).dispatch(positionals[0], values);
    }
    case "events": {
      const { values } = parseArgs({
        args: rest,
        options: {
          follow: { type: "boolean" },
          kind: { type: "string", multiple: true },
          id: { type: "string" },
          since: { type: "string" },
        },
      });
      return (await import("./scripting.ts")).events(values);
    }
    case "dev":
      await (await import("./dev.ts")).dev();
      return -1;
    case "init": {
      const { values } = parseArgs({ args: rest, options: { apply: { type: "boolean" } } });
      return (await import("./init.ts")).init(values.apply ?? false);
    }
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
        options: {
          queue: { type: "string" },
          type: { type: "string" },
          limit: { type: "string" },
          filter: { type: "string" },
          yes: { type: "boolean" },
        },
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
    case "conformance": {
      const { values } = parseArgs({
        args: rest,
        options: {
          queue: { type: "string" },
          type: { type: "string" },
          "inbox-prefix": { type: "string" },
          "timeout-ms": { type: "string" },
        },
      });
      const timeoutMs = values["timeout-ms"] === undefined ? undefined : Number(values["timeout-ms"]);
      if (
        !values.queue ||
        !values.type ||
        (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0))
      )
        throw new JetbusError(
          "VALIDATION",
          "usage: jetbus conformance --queue <queue> --type <type> [--inbox-prefix <prefix>] [--timeout-ms <ms>]",
        );
      return (await import("./conformance/command.ts")).conformance({
        queue: values.queue,
        type: values.type,
        ...(values["inbox-prefix"] ? { inboxPrefix: values["inbox-prefix"] } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      });
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

/**
 * @module
 * `jetbus console-user <name> [--token]`: an operator entry for JETBUS_CONSOLE_USERS(_FILE). Reads the
 * password from stdin (one line), or with `--token` makes a random token and prints it once on stderr;
 * stdout gets `name:scrypt$…$…`, the only form the console is configured with.
 */
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { ValidationError } from "../shared/protocol/errors.ts";
import { hashSecret } from "../services/console/operators.ts";

export async function consoleUser(name: string | undefined, token: boolean): Promise<number> {
  if (!name || !/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
    throw new ValidationError(
      "usage: jetbus console-user <name> [--token]  (name: letters, digits, _ . @ -)",
    );
  let secret: string;
  if (token) {
    secret = randomBytes(24).toString("base64url");
    process.stderr.write(`token for ${name} (shown once, give it to them): ${secret}\n`);
  } else {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    if (process.stdin.isTTY) process.stderr.write(`password for ${name}: `);
    secret = (await rl[Symbol.asyncIterator]().next()).value ?? "";
    rl.close();
    if (secret.length < 12)
      throw new ValidationError("a password must be at least 12 characters (or use --token)");
  }
  process.stdout.write(`${name}:${await hashSecret(secret)}\n`);
  return 0;
}

/**
 * @module
 * `jetbus nkeys <dir> [--roles a,b]`: a fresh nkey pair per role of deploy/nats/jetbus-accounts.conf. Each
 * seed goes to `<dir>/<role>.nk` (mode 0600; an existing file is never overwritten) for that role's process
 * (NATS_NKEY_SEED_FILE); the public keys go to `<dir>/nkeys.env` as the JETBUS_<ROLE>_NKEY lines nats-server
 * reads from its environment. Only public keys are printed.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { JetbusError } from "../shared/protocol/errors.ts";
import { ErrorCodes } from "../shared/protocol/error-codes.ts";

/** The roles of the shipped accounts file, each a user `{ nkey: $JETBUS_<ROLE>_NKEY }`. */
export const NKEY_ROLES = ["dispatcher", "coordinator", "worker", "client", "client-worker", "operator"];

export const nkeyVariable = (role: string) => `JETBUS_${role.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_NKEY`;

export function makeNkeys(dir: string, roles: string[] = NKEY_ROLES): Record<string, string> {
  for (const role of roles)
    if (existsSync(join(dir, `${role}.nk`)))
      throw new JetbusError(
        ErrorCodes.Validation,
        `${join(dir, `${role}.nk`)} exists: not overwriting a key`,
      );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const publics: Record<string, string> = {};
  for (const role of roles) {
    const kp = nkeys.createUser();
    writeFileSync(join(dir, `${role}.nk`), `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600 });
    publics[nkeyVariable(role)] = kp.getPublicKey();
  }
  const env = Object.entries(publics)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  writeFileSync(join(dir, "nkeys.env"), env, { mode: 0o644 });
  // The console's operators file (deploy/k8s makes a Secret of it): empty = a read-only console.
  const users = join(dir, "console-users");
  if (!existsSync(users))
    writeFileSync(users, "# name:scrypt$… lines from `jetbus console-user <name>`\n", { mode: 0o600 });
  return publics;
}

export function nkeysCommand(dir: string | undefined, opts: { roles?: string }): number {
  if (!dir) throw new JetbusError(ErrorCodes.Validation, "usage: jetbus nkeys <dir> [--roles a,b]");
  const roles = opts.roles
    ? opts.roles
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean)
    : NKEY_ROLES;
  const publics = makeNkeys(dir, roles);
  for (const [k, v] of Object.entries(publics)) process.stdout.write(`${k}=${v}\n`);
  process.stdout.write(
    `seeds in ${dir}/<role>.nk (keep them secret); public keys also in ${dir}/nkeys.env\n`,
  );
  return 0;
}

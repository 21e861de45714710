/**
 * @module
 * Turning the credentials a process was given into nats.js connect options. Secrets are read from files
 * (an nkey seed, a `.creds` file, a TLS key), checked for shape before the first connect so a wrong file says
 * so plainly, and never logged: `describeAuth` names the user (an nkey by its public key) and nothing else.
 */
import { readFileSync } from "node:fs";
import {
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  type ConnectionOptions,
} from "@nats-io/transport-node";
import { JetbusError } from "../protocol/errors.ts";
import { ErrorCodes } from "../protocol/error-codes.ts";

/** TLS towards NATS (nats.js reads the files): a private CA, and a client certificate where the server verifies them. */
export interface TlsFiles {
  /** PEM file of the CA that signed the server's certificate */
  caFile?: string;
  /** PEM client certificate, for servers with `verify: true` (needs `keyFile`) */
  certFile?: string;
  /** PEM private key of `certFile` */
  keyFile?: string;
}

/** How a process proves who it is to NATS: at most one of user/pass, token, nkey seed or `.creds`; TLS goes with any. */
export interface NatsAuth {
  user?: string;
  pass?: string;
  token?: string;
  /** file holding an nkey user seed (`SU…`), for servers that list the user by its public key */
  nkeySeedFile?: string;
  /** a `.creds` file (user JWT + seed), for servers in operator (JWT) mode */
  credsFile?: string;
  tls?: TlsFiles;
  /**
   * prefix of this connection's reply subjects; give each role its own (`_INBOX.worker`, …) so the server can
   * keep one role from reading another's replies
   */
  inboxPrefix?: string;
}

const AUTH_KEYS = ["user", "pass", "token", "nkeySeedFile", "credsFile", "tls", "inboxPrefix"] as const;

/** Only the credential fields of `o` (options objects carry much else). */
export function authOf(o: NatsAuth): NatsAuth {
  const out: Record<string, unknown> = {};
  for (const k of AUTH_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out as NatsAuth;
}

function readSecret(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new JetbusError(
      ErrorCodes.Config,
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
}

function readSeed(path: string): Uint8Array {
  const seed = readSecret(path, "nkey seed file").trim();
  try {
    if (!seed.startsWith("SU")) throw new Error("not a user seed");
    nkeys.fromSeed(new TextEncoder().encode(seed));
  } catch {
    throw new JetbusError(
      ErrorCodes.Config,
      `the nkey seed file ${path} does not hold a user seed (one line starting with SU)`,
    );
  }
  return new TextEncoder().encode(seed);
}

function readCreds(path: string): Uint8Array {
  const text = readSecret(path, "credentials file");
  if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text))
    throw new JetbusError(
      ErrorCodes.Config,
      `${path} is not a NATS .creds file (it needs a USER JWT and a USER NKEY SEED block)`,
    );
  return new TextEncoder().encode(text);
}

function checkReadable(path: string, what: string): string {
  readSecret(path, what);
  return path;
}

/** The connect options for `auth`, reading and checking its files. Throws CONFIG for a missing or wrong file. */
export function authOptions(auth: NatsAuth): Partial<ConnectionOptions> {
  const o: Partial<ConnectionOptions> = {};
  if (auth.user) o.user = auth.user;
  if (auth.pass) o.pass = auth.pass;
  if (auth.token) o.token = auth.token;
  if (auth.nkeySeedFile) o.authenticator = nkeyAuthenticator(readSeed(auth.nkeySeedFile));
  if (auth.credsFile) o.authenticator = credsAuthenticator(readCreds(auth.credsFile));
  if (auth.inboxPrefix) o.inboxPrefix = auth.inboxPrefix;
  const tls = auth.tls;
  if (tls && (tls.caFile || tls.certFile || tls.keyFile)) {
    o.tls = {
      ...(tls.caFile ? { caFile: checkReadable(tls.caFile, "TLS CA file") } : {}),
      ...(tls.certFile ? { certFile: checkReadable(tls.certFile, "TLS client certificate") } : {}),
      ...(tls.keyFile ? { keyFile: checkReadable(tls.keyFile, "TLS client key") } : {}),
    };
  }
  return o;
}

/** Who this connection says it is, for error messages: never a password, token or seed. */
export function describeAuth(auth: NatsAuth): string {
  if (auth.credsFile) return `the credentials in ${auth.credsFile}`;
  if (auth.nkeySeedFile) {
    try {
      const kp = nkeys.fromSeed(readSeed(auth.nkeySeedFile));
      return `nkey user ${kp.getPublicKey()}`;
    } catch {
      return `the nkey in ${auth.nkeySeedFile}`;
    }
  }
  if (auth.user) return `user ${JSON.stringify(auth.user)}`;
  if (auth.token) return "the token";
  return "a connection without credentials";
}

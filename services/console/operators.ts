/**
 * @module
 * Operator users: a name and the scrypt hash of a secret (a password, or a long random token: both are
 * checked the same way). Only hashes are configured; a check runs scrypt on the offered secret and compares in
 * constant time, and an unknown name costs the same as a wrong secret, so timing tells nothing.
 *
 * Hash format: `scrypt$<salt, base64url>$<32-byte key, base64url>` (N=16384, r=8, p=1), made by
 * `jetbus console-user <name>`.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const KEY_BYTES = 32;
const PARAMS = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH = /^scrypt\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{43})$/;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface Operator {
  name: string;
  salt: Buffer;
  key: Buffer;
}

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_BYTES, PARAMS, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString("base64url")}$${(await derive(secret, salt)).toString("base64url")}`;
}

/** `name:hash` entries (comma- or newline-separated); every bad entry is reported, never echoed in full. */
export function parseOperators(text: string): { operators: Operator[]; problems: string[] } {
  const operators: Operator[] = [];
  const problems: string[] = [];
  for (const entry of text.split(/[\n,]/).map((e) => e.trim())) {
    if (!entry || entry.startsWith("#")) continue;
    const colon = entry.indexOf(":");
    const name = colon > 0 ? entry.slice(0, colon) : "";
    const m = HASH.exec(entry.slice(colon + 1));
    if (!NAME.test(name)) problems.push(`an operator entry has no valid name (want name:scrypt$…$…)`);
    else if (!m)
      problems.push(`operator ${name}: not a scrypt hash (make one with: jetbus console-user ${name})`);
    else if (operators.some((o) => o.name === name)) problems.push(`operator ${name} is listed twice`);
    else
      operators.push({ name, salt: Buffer.from(m[1]!, "base64url"), key: Buffer.from(m[2]!, "base64url") });
  }
  return { operators, problems };
}

const DECOY: Operator = { name: "", salt: Buffer.alloc(16), key: Buffer.alloc(KEY_BYTES) };

/** The operator whose name and secret these are, or null. */
export async function verifyOperator(
  operators: readonly Operator[],
  name: string,
  secret: string,
): Promise<Operator | null> {
  const op = operators.find((o) => o.name === name);
  const against = op ?? DECOY;
  const key = await derive(secret.slice(0, 1024), against.salt);
  return timingSafeEqual(key, against.key) && op ? op : null;
}

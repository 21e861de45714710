/**
 * @module
 * Signed-in operators' sessions, in this replica's memory: a random id (the HttpOnly cookie) and a random
 * CSRF token (which the page sends back in a header on every state-changing request). Nothing secret about
 * the operator reaches the page: the cookie is unreadable by scripts, the token is useless without it.
 * A console replica that restarts forgets its sessions: operators sign in again.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

export interface Session {
  id: string;
  user: string;
  csrf: string;
  expiresAt: number;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly ttlMs: number) {}

  open(user: string, now = Date.now()): Session {
    this.sweep(now);
    const s: Session = {
      id: randomBytes(32).toString("base64url"),
      user,
      csrf: randomBytes(24).toString("base64url"),
      expiresAt: now + this.ttlMs,
    };
    this.byId.set(s.id, s);
    return s;
  }

  find(id: string | undefined, now = Date.now()): Session | null {
    if (!id) return null;
    const s = this.byId.get(id);
    if (!s) return null;
    if (s.expiresAt <= now) {
      this.byId.delete(id);
      return null;
    }
    return s;
  }

  close(id: string): void {
    this.byId.delete(id);
  }

  private sweep(now: number): void {
    for (const [id, s] of this.byId) if (s.expiresAt <= now) this.byId.delete(id);
  }
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * @module
 * Reading configuration from an env record, collecting every problem instead of stopping at the first, so
 * `loadConfig(env)` can report all bad keys at once. Pure: the env record is passed in.
 */
import { JetbusError } from "../protocol/errors.ts";

export type Env = Record<string, string | undefined>;

export class ConfigError extends JetbusError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super("CONFIG", `invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  private raw(key: string): string | undefined {
    const v = this.env[key];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  string(key: string, fallback: string): string {
    return this.raw(key) ?? fallback;
  }

  optional(key: string): string | undefined {
    return this.raw(key);
  }

  int(key: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n)) {
      this.problems.push(`${key}=${JSON.stringify(v)} is not a whole number`);
      return fallback;
    }
    if (opts.min !== undefined && n < opts.min)
      this.problems.push(`${key}=${n} is below the minimum ${opts.min}`);
    if (opts.max !== undefined && n > opts.max)
      this.problems.push(`${key}=${n} is above the maximum ${opts.max}`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key)?.toLowerCase();
    if (v === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.problems.push(`${key}=${JSON.stringify(v)} is not a boolean (true/false)`);
    return fallback;
  }

  list(key: string, fallback: string[]): string[] {
    const v = this.raw(key);
    return v === undefined
      ? fallback
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${key}=${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
    return fallback;
  }

  check(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }

  /** Throws one ConfigError listing every problem found. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/**
 * @module
 * Guessing secrets is slow anyway (scrypt per try); this makes it pointless: after `maxFailures` failed
 * sign-ins for one name (known or not) within `windowMs`, that name is refused until the window has passed,
 * whatever secret is offered. Kept in memory, per replica.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  /** ms until `name` may try again, or 0 */
  blockedFor(name: string, now = Date.now()): number {
    const recent = this.recent(name, now);
    return recent.length >= this.maxFailures ? recent[0]! + this.windowMs - now : 0;
  }

  failed(name: string, now = Date.now()): void {
    const recent = this.recent(name, now);
    recent.push(now);
    this.failures.set(name, recent);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(name: string): void {
    this.failures.delete(name);
  }

  private recent(name: string, now: number): number[] {
    return (this.failures.get(name) ?? []).filter((t) => now - t < this.windowMs);
  }
}

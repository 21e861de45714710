/**
 * @module
 * A bounded set of recently seen ids with an age limit: which effects this process already performed, so an
 * outbox entry it published itself is dropped instead of republished.
 */
export class RecentSet {
  private readonly entries = new Map<string, number>();
  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  add(id: string, now: number): void {
    this.entries.delete(id);
    this.entries.set(id, now);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  has(id: string, now: number): boolean {
    const at = this.entries.get(id);
    return at !== undefined && now - at <= this.maxAgeMs;
  }
}

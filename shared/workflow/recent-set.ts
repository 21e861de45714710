/**
 * @module
 * A bounded set of recently seen ids with an age limit: which effects this process already performed, which
 * events an observer already delivered. Two generations instead of evicting the oldest Map entry one by one
 * (V8 walks deleted slots to find a Map's first key, which turned eviction quadratic at 100k entries).
 */
export class RecentSet<K = string> {
  private current = new Map<K, number>();
  private previous = new Map<K, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  add(id: K, now: number): void {
    this.current.set(id, now);
    if (this.current.size >= Math.max(1, Math.ceil(this.maxEntries / 2))) {
      this.previous = this.current;
      this.current = new Map();
    }
  }

  has(id: K, now: number): boolean {
    const at = this.current.get(id) ?? this.previous.get(id);
    return at !== undefined && now - at <= this.maxAgeMs;
  }
}

/**
 * @module
 * A FIFO counting semaphore for in-flight publishes. A released slot is handed straight to the oldest waiter
 * rather than freed, so a burst of new callers cannot overtake those already waiting (no starvation, and
 * publish order is kept). `acquire()` returns `undefined` when a slot is free so the hot path allocates no
 * promise.
 */

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class InFlightSlots {
  #free: number;
  readonly #limit: number;
  // An array with a moving head: `shift()` is O(n) on large arrays, and a caller that fires 100k publishes
  // without awaiting queues 100k waiters here.
  #waiters: (Waiter | undefined)[] = [];
  #head = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`maxInFlight must be ≥ 1, got ${limit}`);
    this.#limit = limit;
    this.#free = limit;
  }

  /** `undefined` when a slot was taken at once; otherwise a promise that resolves once one is handed over. */
  acquire(): Promise<void> | undefined {
    if (this.#free > 0 && this.waiting === 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(): void {
    const next = this.#shift();
    if (next) next.resolve();
    else this.#free = Math.min(this.#limit, this.#free + 1);
  }

  /** Rejects every waiter (they never got a slot, so nothing is released). */
  rejectWaiters(err: Error): void {
    for (let w = this.#shift(); w; w = this.#shift()) w.reject(err);
  }

  get inUse(): number {
    return this.#limit - this.#free;
  }

  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  #shift(): Waiter | undefined {
    if (this.#head >= this.#waiters.length) return undefined;
    const w = this.#waiters[this.#head];
    this.#waiters[this.#head++] = undefined;
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    return w;
  }
}

/**
 * @module Named, time-bounded waits for tests.
 *
 * Tests never sleep for a fixed time: they either wait for an event (a {@link Latch} or {@link CountLatch}
 * resolved by the code under test) or, when a condition has no event, poll it with {@link waitFor}. Every wait
 * has a name, so a timeout says *what* never happened instead of just "timed out".
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitForOptions {
  /** @defaultValue 10_000 */
  timeoutMs?: number;
  /** Pause between two checks. @defaultValue 25 */
  intervalMs?: number;
  /** Stops waiting early (e.g. the process being waited on has died); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a truthy value and resolves with that value. A check that throws counts as
 * "not yet"; the last error is reported if time runs out. Falsy results (`0`, `""`, `false`, `null`) mean
 * "not yet" too — wrap them (`() => ({ n })`) if they are real answers.
 *
 * @example
 * const info = await waitFor("stream JOBS to have a leader", async () => {
 *   const si = await jsm.streams.info("JOBS");
 *   return si.cluster?.leader ? si : null;
 * });
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, signal }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    signal?.throwIfAborted();
    attempts++;
    try {
      // A hung check (a request to a dead server) must not stretch the bound, so each one races the deadline.
      const value = await interruptible(Promise.resolve().then(check), signal, deadline - performance.now());
      if (value) return value as NonNullable<T>;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err !== deadlineHit) lastError = err;
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      const last = lastError === undefined ? "" : `; last error: ${describe(lastError)}`;
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what} (${attempts} checks)${last}`, {
        cause: lastError,
      });
    }
    await interruptible(sleep(Math.min(intervalMs, remaining)), signal);
  }
}

const deadlineHit = Symbol("deadline");

/** Settles like `promise` unless `signal` aborts first (its reason) or `ms` pass (rejects with `deadlineHit`). */
async function interruptible<T>(promise: Promise<T>, signal?: AbortSignal, ms?: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    if (ms !== undefined) timer = setTimeout(() => reject(deadlineHit), Math.max(ms, 1));
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, interrupted]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    // The loser may still settle later; its rejection must not surface as unhandled.
    promise.catch(() => undefined);
  }
}

/** Rejects with `Error("timed out after Xms waiting for <what>")` unless `promise` settles first. */
export async function withTimeout<T>(promise: PromiseLike<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A promise with its `resolve`/`reject` handed to whoever observes the event.
 *
 * @example
 * const reconnected = new Latch();
 * void (async () => { for await (const s of nc.status()) if (s.type === "reconnect") reconnected.resolve(); })();
 * await server.restart();
 * await reconnected.wait(10_000, "the client to reconnect");
 */
export class Latch<T = void> {
  readonly promise: Promise<T>;
  #resolve!: (value: T | PromiseLike<T>) => void;
  #reject!: (reason: unknown) => void;
  #settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A latch rejected by a background observer that nobody ends up awaiting must not crash the test file.
    this.promise.catch(() => undefined);
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Later calls are ignored, so several observers may race to settle it. */
  resolve(value: T | PromiseLike<T>): void {
    this.#settled = true;
    this.#resolve(value);
  }

  reject(reason: unknown): void {
    this.#settled = true;
    this.#reject(reason);
  }

  wait(timeoutMs = 10_000, what = "a latch"): Promise<T> {
    return withTimeout(this.promise, timeoutMs, what);
  }
}

export function deferred<T = void>(): Latch<T> {
  return new Latch<T>();
}

/**
 * Opens after `count` calls to {@link CountLatch.countDown}; the items passed along are collected, so it
 * doubles as "collect N messages".
 *
 * @example
 * const got = new CountLatch<string>(3);
 * const sub = nc.subscribe("jobs.done", { callback: (_e, m) => got.countDown(m.string()) });
 * assert.deepEqual((await got.wait(5_000, "3 jobs done")).sort(), ["a", "b", "c"]);
 */
export class CountLatch<T = void> {
  readonly #target: number;
  readonly #items: T[] = [];
  readonly #latch = new Latch<T[]>();
  #seen = 0;

  constructor(count: number) {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be an integer >= 0, got ${count}`);
    this.#target = count;
    if (count === 0) this.#latch.resolve(this.#items);
  }

  countDown(...item: T extends void ? [] : [item: T]): void {
    this.#seen++;
    if (item.length > 0) this.#items.push(item[0] as T);
    if (this.#seen === this.#target) this.#latch.resolve(this.#items);
  }

  /** Calls still missing before the latch opens (never negative). */
  get remaining(): number {
    return Math.max(0, this.#target - this.#seen);
  }

  get items(): readonly T[] {
    return this.#items;
  }

  async wait(timeoutMs = 10_000, what = `${this.#target} events`): Promise<T[]> {
    try {
      return await this.#latch.wait(timeoutMs, what);
    } catch (err) {
      throw new Error(`${(err as Error).message} (got ${this.#seen} of ${this.#target})`, { cause: err });
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

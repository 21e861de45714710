/**
 * @module A byte-capped text buffer for child-process output.
 *
 * A server that logs for minutes must not grow the test process without bound, yet the lines that explain a
 * failed start are the last ones — so we keep the tail and drop the oldest chunks.
 */

export class RingBuffer {
  readonly #capacity: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;

  constructor(capacityBytes = 64 * 1024) {
    if (!(capacityBytes > 0)) throw new RangeError(`capacityBytes must be > 0, got ${capacityBytes}`);
    this.#capacity = capacityBytes;
  }

  push(chunk: Buffer | string): void {
    let buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (buf.length > this.#capacity) {
      this.#dropped += buf.length - this.#capacity;
      buf = buf.subarray(buf.length - this.#capacity);
    }
    this.#chunks.push(buf);
    this.#size += buf.length;
    while (this.#size > this.#capacity) {
      const head = this.#chunks[0]!;
      const excess = this.#size - this.#capacity;
      if (head.length <= excess) {
        this.#chunks.shift();
        this.#size -= head.length;
        this.#dropped += head.length;
      } else {
        this.#chunks[0] = head.subarray(excess);
        this.#size -= excess;
        this.#dropped += excess;
      }
    }
  }

  /** Bytes discarded so far; callers print it so a truncated log is not mistaken for the whole story. */
  get droppedBytes(): number {
    return this.#dropped;
  }

  toString(): string {
    const text = Buffer.concat(this.#chunks, this.#size).toString("utf8");
    return this.#dropped > 0 ? `[… ${this.#dropped} earlier bytes dropped …]\n${text}` : text;
  }
}

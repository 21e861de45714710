/**
 * @module
 * BullMQ 6 made its Redis driver an optional peer dependency: with connection options (rather than a client
 * instance) it `require()`s `ioredis` itself, and fails at the first queue operation when it is missing.
 * Checking up front turns that into one clear message before any process is spawned.
 */
import { createRequire } from "node:module";

export function assertBullmqDriver(): void {
  const require = createRequire(import.meta.url);
  // Resolve from bullmq's own location: that is where its `require("ioredis")` looks (plus NODE_PATH).
  const fromBullmq = createRequire(require.resolve("bullmq"));
  try {
    fromBullmq.resolve("ioredis");
  } catch {
    throw new Error(
      "BullMQ 6.7 needs the 'ioredis' package, which it lists only as an optional peer dependency and which " +
        "is not installed. Add it (`npm i -D ioredis@^5`), or point NODE_PATH at a node_modules that has it, " +
        "or set BENCH_NO_BULLMQ=1 to skip the BullMQ baselines.",
    );
  }
}

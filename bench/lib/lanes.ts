/**
 * @module
 * Keeps `lanes` async operations in flight over `n` items: each lane starts the next item when its last one
 * settles. Unlike creating all `n` promises at once, memory stays bounded by `lanes`.
 */
export async function runLanes(n: number, lanes: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, n) }, lane));
}

/** Stays read per query in the follow-up's runs over months. */
export const BATCH = 5_000;

/**
 * `load(i)` for i = 0, BATCH, 2·BATCH, … below `n`, concatenated; the next batch is asked for while the current
 * one is handled, so the database and this process work at the same time.
 */
export async function inBatches<T>(n: number, load: (i: number) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  let next = n > 0 ? load(0) : undefined;
  for (let i = 0; next; i += BATCH) {
    const current = next;
    next = i + BATCH < n ? load(i + BATCH) : undefined;
    // Handled when awaited below; this only keeps a failure of the prefetch from being reported as unhandled.
    next?.catch(() => undefined);
    for (const x of await current) out.push(x);
  }
  return out;
}

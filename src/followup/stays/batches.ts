/**
 * Stays read per query in the follow-up's runs over months. Small enough that a batch's rows die young (with 5 000
 * every batch outlived a few scavenges and a third of the indicators' time went to the garbage collector; 1 000 took
 * the 200 000-stay year's indicators from about 21 s to 15 s), large enough that the per-query cost stays small.
 */
export const BATCH = 1_000;

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

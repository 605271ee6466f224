/**
 * Group commit for concurrent jobs: items submitted while a batch is running (or in the same tick) are
 * handled together by `runBatch` (one transaction, set-based statements). At most `maxInFlight` batches run
 * at once. When a batch fails, each of its items is retried alone with `runOne`, so one bad item only fails
 * its own caller (a poison outbox row or event does not take its neighbours down with it).
 */
export interface MicroBatchOptions<T, R> {
  maxBatch: number;
  maxInFlight: number;
  runBatch(items: T[]): Promise<R[]>;
  runOne(item: T): Promise<R>;
  /** Called when a batch failed and its items are retried one by one. */
  onBatchError?(err: unknown, size: number): void;
}

export interface MicroBatcher<T, R> {
  submit(item: T): Promise<R>;
  /** Batches run so far and the items they held (for tests and diagnostics). */
  stats(): { batches: number; items: number };
}

interface Pending<T, R> {
  item: T;
  resolve(r: R): void;
  reject(err: unknown): void;
}

export function createMicroBatcher<T, R>(o: MicroBatchOptions<T, R>): MicroBatcher<T, R> {
  const pending: Pending<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let batches = 0;
  let items = 0;

  async function run(group: Pending<T, R>[]): Promise<void> {
    batches++;
    items += group.length;
    try {
      const out = await o.runBatch(group.map((p) => p.item));
      group.forEach((p, i) => p.resolve(out[i] as R));
    } catch (err) {
      o.onBatchError?.(err, group.length);
      for (const p of group) {
        try {
          p.resolve(await o.runOne(p.item));
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < o.maxInFlight && pending.length > 0) {
      const group = pending.splice(0, o.maxBatch);
      inFlight++;
      void run(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    submit(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        // Wait one turn of the event loop so jobs fetched together land in one batch.
        if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    stats: () => ({ batches, items }),
  };
}

import type { Job } from 'bullmq';

/**
 * Of `items` (rows or events that PostgreSQL still shows as pending past the reconcile grace) and their
 * BullMQ jobs (same order), those whose job will never run again: gone (Redis restarted or flushed), or
 * finished — completed or failed for good (e.g. failed after stalling, or an earlier attempt found the
 * subscription inactive) — although the work is still pending. A finished job is removed so the same job id
 * can be added again; without that, BullMQ ignores the add and the item waits for ever.
 */
export async function jobsGone<T>(items: T[], jobs: (Job | undefined | null)[]): Promise<T[]> {
  const gone: T[] = [];
  for (let k = 0; k < items.length; k++) {
    const job = jobs[k];
    if (!job) {
      gone.push(items[k]!);
      continue;
    }
    if (!job.finishedOn) continue; // waiting, active, delayed (or retrying): it will run
    // Removal fails only when the job is gone already or was taken again meanwhile (then it runs anyway).
    if (
      await job.remove().then(
        () => true,
        () => false,
      )
    )
      gone.push(items[k]!);
  }
  return gone;
}

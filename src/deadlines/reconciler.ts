import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { pendingPage } from './deadline-store.pg';
import type { DeadlineTimers } from './timers';

export interface ReconcileOptions {
  db: Db;
  timers: DeadlineTimers;
  clock: Clock;
  logger?: Logger;
  pageSize?: number;
}

/**
 * Re-arms every pending step whose wake-up job is missing from Redis (FLUSHALL, a Redis restart without
 * persistence, a job removed by hand). Pages through `deadline_step` in key order; one pipelined EXISTS per
 * step, an add only for the missing ones. Steps already due get a job with no delay and fire at once.
 */
export async function reconcileTimers(o: ReconcileOptions): Promise<{ checked: number; rearmed: number }> {
  const size = o.pageSize ?? 1000;
  let after: { taskId: string; stepId: string } | undefined;
  let checked = 0;
  let rearmed = 0;
  for (;;) {
    const page = await pendingPage(o.db, after, size);
    if (page.length === 0) break;
    const missing = await o.timers.missing(page);
    await o.timers.arm(missing);
    checked += page.length;
    rearmed += missing.length;
    const last = page[page.length - 1];
    after = last && { taskId: last.taskId, stepId: last.stepId };
    if (page.length < size) break;
  }
  if (rearmed > 0) o.logger?.warn('deadline timers re-armed', { checked, rearmed });
  return { checked, rearmed };
}

/**
 * Fires what the clock says is due: promotes the delayed jobs of pending steps with `due_at <= now` (adding
 * any that are missing). With the system clock BullMQ does this by itself; with a manual clock this is how a
 * jump in time fires the steps it passed.
 */
export async function promoteDue(o: ReconcileOptions): Promise<number> {
  const size = o.pageSize ?? 1000;
  const now = o.clock.now();
  let after: { taskId: string; stepId: string } | undefined;
  let n = 0;
  for (;;) {
    const page = await pendingPage(o.db, after, size, now);
    if (page.length === 0) break;
    await o.timers.promote(page);
    n += page.length;
    const last = page[page.length - 1];
    after = last && { taskId: last.taskId, stepId: last.stepId };
    if (page.length < size) break;
  }
  return n;
}

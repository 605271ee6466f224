import { isConnectionError } from '../platform/dependency-watch';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { redisConnection, type QueueFactoryOptions } from '../platform/queues';
import { fireStep, type FireDeps, type FireResult } from './fire-step';
import { TIMER_QUEUE, type DeadlineTimers, type TimerJobData } from './timers';

export interface TimerWorkerOptions extends QueueFactoryOptions {
  db: Db;
  deps: FireDeps;
  timers: DeadlineTimers;
  logger: Logger;
  concurrency?: number;
  /** Called after each fire attempt (metrics, tests). */
  onFired?(data: TimerJobData, result: FireResult): void;
}

/**
 * Processes the wake-up jobs of `deadline-timers`. The job only says which (Task, step, due time) to look at;
 * the decision is `fireStep`'s, against PostgreSQL. A job that wakes before its time by the gateway's clock
 * (clock skew, a manual clock) is moved back to delayed.
 */
export function startTimerWorker(o: TimerWorkerOptions): Worker<TimerJobData> {
  const processor = async (job: Job<TimerJobData>, token?: string): Promise<FireResult> => {
    const { taskId, stepId, due } = job.data;
    const { result, arm, disarm } = await fireStep(o.db, { taskId, stepId, dueAt: new Date(due) }, o.deps);
    await o.timers.disarm(disarm.filter((s) => !(s.stepId === stepId && s.dueAt.getTime() === due)));
    await o.timers.arm(arm.filter((s) => !(s.stepId === stepId && s.dueAt.getTime() === due)));
    o.onFired?.(job.data, result);
    if (result === 'fired') o.logger.info('deadline step fired', { taskId, stepId, due: new Date(due).toISOString() });
    if (result === 'not-yet') {
      await job.moveToDelayed(Date.now() + Math.max(1, due - o.deps.now().getTime()), token);
      throw new DelayedError();
    }
    return result;
  };
  // An own blocking connection, closed with the worker (BullMQ leaves connections it was handed open).
  const connection = redisConnection(o.redisUrl, { blocking: true });
  const worker = new Worker<TimerJobData>(TIMER_QUEUE, processor, {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency ?? 16,
  });
  connection.on('error', () => undefined); // reconnects on its own; the worker reports failures
  worker.on('error', (e) => {
    if (!isConnectionError(e)) o.logger.warn('deadline worker error', { error: e.message });
  });
  worker.on('closed', () => connection.disconnect());
  return worker;
}

import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisConnection, type QueueFactoryOptions } from '../platform/queues';
import type { Clock } from '../platform/clock';
import type { PendingStep } from './deadline-store.pg';

/** The BullMQ queue whose delayed jobs wake the deadline worker. Its jobs carry ids only, never documents. */
export const TIMER_QUEUE = 'deadline-timers';

export interface TimerJobData {
  taskId: string;
  stepId: string;
  /** Due time in epoch ms (also part of the job id). */
  due: number;
}

// A job that exhausts its attempts is removed too: the step stays pending in PostgreSQL, so the next
// reconciler pass re-arms it (a kept failed job would make the reconciler believe the timer exists).
const JOB_OPTS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: true,
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
};

/** BullMQ ids may not contain ':'; FHIR ids never do, agreement step ids are cleaned. */
export function timerJobId(s: PendingStep): string {
  return `dl-${s.taskId}-${s.stepId.replace(/:/g, '_')}-${s.dueAt.getTime()}`;
}

/**
 * One delayed job per pending (Task, step, due time). The id is deterministic, so arming twice is a no-op, a
 * moved deadline gets a new job (the old one is removed) and the reconciler can re-add whatever Redis lost.
 * The delay is counted from `clock.now()`; with a manual clock, `promoteDue` fires what became due.
 */
export class DeadlineTimers {
  readonly queue: Queue<TimerJobData>;
  /** A plain connection for pipelined existence checks. */
  private readonly redis: Redis;
  constructor(
    o: QueueFactoryOptions,
    private readonly clock: Clock,
  ) {
    // Own connections (closed in `close`): BullMQ never closes a connection it was handed.
    this.redis = redisConnection(o.redisUrl);
    this.redis.on('error', () => undefined); // reconnects on its own; callers see failed commands
    this.queue = new Queue<TimerJobData>(TIMER_QUEUE, {
      connection: this.redis,
      prefix: o.prefix,
      streams: { events: { maxLen: 1000 } },
    });
    this.queue.on('error', () => undefined); // without a listener BullMQ prints every connection error
  }

  async arm(steps: readonly PendingStep[]): Promise<void> {
    const now = this.clock.now().getTime();
    for (let i = 0; i < steps.length; i += 1000) {
      await this.queue.addBulk(
        steps.slice(i, i + 1000).map((s) => ({
          name: 'step',
          data: { taskId: s.taskId, stepId: s.stepId, due: s.dueAt.getTime() },
          opts: { ...JOB_OPTS, jobId: timerJobId(s), delay: Math.max(0, s.dueAt.getTime() - now) },
        })),
      );
    }
  }

  async disarm(steps: readonly PendingStep[]): Promise<void> {
    for (const s of steps) await this.queue.remove(timerJobId(s));
  }

  /** Which of `steps` have no job in Redis (one pipelined EXISTS per step). */
  async missing(steps: readonly PendingStep[]): Promise<PendingStep[]> {
    if (steps.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const s of steps) pipe.exists(this.queue.toKey(timerJobId(s)));
    const res = (await pipe.exec()) ?? [];
    return steps.filter((_, i) => res[i]?.[1] !== 1);
  }

  /** Moves the jobs of steps that are due (by the clock) to the wait list, adding any that are missing. */
  async promote(steps: readonly PendingStep[]): Promise<void> {
    const missing = new Set((await this.missing(steps)).map(timerJobId));
    const toAdd: PendingStep[] = [];
    for (const s of steps) {
      const id = timerJobId(s);
      if (missing.has(id)) {
        toAdd.push(s);
        continue;
      }
      const job = await this.queue.getJob(id);
      if (job && (await job.isDelayed())) {
        await job.promote().catch(() => undefined); // it may have become active meanwhile
      }
    }
    await this.arm(toAdd);
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

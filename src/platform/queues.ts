import { Queue, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * BullMQ connections. Every queue and worker gets its own ioredis connection from the URL; workers use
 * `maxRetriesPerRequest: null` (BullMQ's production guidance: blocking commands must not give up while
 * Redis restarts). Producers fail fast instead, so a request never hangs on a dead Redis.
 */
export function redisConnection(redisUrl: string, opts: { blocking?: boolean } = {}): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
  const redis = new Redis(redisUrl, options);
  // Connection errors while Redis restarts are expected; BullMQ and the reconcilers recover.
  redis.on('error', () => undefined);
  return redis;
}

/** Completed jobs are kept briefly (Bull Board shows them), failed ones a week; the truth lives in PostgreSQL. */
export const DEFAULT_JOB_RETENTION = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10000 },
} as const;

export interface QueueFactoryOptions {
  redisUrl: string;
  prefix: string;
}

/** Close with `closeWithConnection` (./close-bullmq): BullMQ leaves the connection it was given open. */
export function createQueue<T>(name: string, o: QueueFactoryOptions, extra: Partial<QueueOptions> = {}): Queue<T> {
  const q = new Queue<T>(name, {
    connection: redisConnection(o.redisUrl),
    prefix: o.prefix,
    // Keep BullMQ's events stream capped (Redis memory; peers.md).
    streams: { events: { maxLen: 1000 } },
    defaultJobOptions: { ...DEFAULT_JOB_RETENTION },
    ...extra,
  });
  q.on('error', () => undefined);
  return q;
}

/** Close with `closeWithConnection` (./close-bullmq), as queues. */
export function createWorker<T>(
  name: string,
  processor: Processor<T>,
  o: QueueFactoryOptions,
  extra: Partial<WorkerOptions> = {},
): Worker<T> {
  return new Worker<T>(name, processor, {
    connection: redisConnection(o.redisUrl, { blocking: true }),
    prefix: o.prefix,
    ...extra,
  });
}

import type { Job, Worker } from 'bullmq';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { withLogContext } from '../platform/logger';
import { createWorker } from '../platform/queues';
import { toOutboxEvent, type OutboxEvent, type OutboxProcessor, type OutboxRow } from './outbox.types';

export interface OutboxConsumerOptions {
  db: Db;
  redisUrl: string;
  prefix: string;
  logger?: Logger;
  concurrency?: number;
  /**
   * Keep the order of rows with the same ordering key (the stay, else the resource): before handling a row,
   * handle the consumer's unprocessed earlier rows of that key, under a lock on the key. Jobs of one stay
   * may then run in any order or in parallel and the consumer still sees them in outbox order.
   */
  ordered?: boolean;
}

const orderKey = (e: OutboxEvent): string => e.stayKey ?? `${e.resourceType ?? ''}/${e.resourceId ?? ''}`;

/**
 * Handles one outbox row for `consumer` exactly once: the processed marker (`outbox_processed`) is written in
 * the same transaction as the handler's work, so a job that runs twice (BullMQ is at-least-once) or is
 * re-enqueued by the reconciler does nothing the second time.
 */
export async function handleOutboxEvent(
  db: Db,
  consumer: string,
  event: OutboxEvent,
  processor: OutboxProcessor,
  ordered: boolean,
): Promise<number> {
  const after: (() => Promise<void>)[] = [];
  const handled = await db.transaction(async (tx) => {
    let rows: OutboxEvent[] = [event];
    if (ordered) {
      const key = orderKey(event);
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`obc|${consumer}|${key}`]);
      const earlier = await tx.query<OutboxRow>(
        `SELECT o.id, o.kind, o.resource_type, o.resource_id, o.version_id, o.action, o.stay_key, o.payload, o.created_at
           FROM outbox o
          WHERE COALESCE(o.stay_key, o.resource_type || '/' || o.resource_id) = $1 AND o.id < $2
            AND o.id > COALESCE((SELECT low_watermark FROM outbox_consumer_progress WHERE consumer = $3), 0)
            AND NOT EXISTS (SELECT 1 FROM outbox_processed x WHERE x.consumer = $3 AND x.outbox_id = o.id)
          ORDER BY o.id`,
        [key, event.outboxId, consumer],
      );
      rows = [...earlier.rows.map(toOutboxEvent), event];
    }
    let n = 0;
    for (const e of rows) {
      const mark = await tx.query(
        'INSERT INTO outbox_processed (consumer, outbox_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [consumer, e.outboxId],
      );
      if (mark.rowCount === 0) continue;
      const then = await processor(e, tx);
      if (then) after.push(then);
      n++;
    }
    return n;
  });
  for (const fn of after) await fn();
  return handled;
}

export function startOutboxConsumer(
  consumer: string,
  processor: OutboxProcessor,
  o: OutboxConsumerOptions,
): Worker<OutboxEvent> {
  const worker = createWorker<OutboxEvent>(
    consumer,
    async (job: Job<OutboxEvent>) =>
      withLogContext({ jobId: job.id ?? '' }, () =>
        handleOutboxEvent(o.db, consumer, job.data, processor, o.ordered ?? false),
      ),
    { redisUrl: o.redisUrl, prefix: o.prefix },
    { concurrency: o.concurrency ?? 8 },
  );
  worker.on('failed', (job, err) =>
    o.logger?.warn('outbox consumer job failed', { consumer, jobId: job?.id, error: err.message }),
  );
  worker.on('error', (err) => o.logger?.warn('outbox consumer worker error', { consumer, error: err.message }));
  return worker;
}

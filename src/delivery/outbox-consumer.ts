import { isConnectionError } from '../platform/dependency-watch';
import type { Job, Worker } from 'bullmq';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { withLogContext } from '../platform/logger';
import { createWorker } from '../platform/queues';
import { createMicroBatcher } from './micro-batch';
import {
  toOutboxEvent,
  type OutboxBatchProcessor,
  type OutboxEvent,
  type OutboxProcessor,
  type OutboxRow,
} from './outbox.types';

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
  /**
   * Handle rows of concurrently running jobs together: one transaction, one lock statement, one query for
   * earlier rows, one marker insert and one `batch` call per group (group commit, see micro-batch.ts).
   * Without it, the consumer's processor is called row by row inside each group's transaction (`rowByRow`).
   */
  batch?: { processor: OutboxBatchProcessor; maxBatch?: number; maxInFlight?: number };
}

/** The ordering key of an outbox row: its stay, else its resource. */
export const orderKey = (e: OutboxEvent): string => e.stayKey ?? `${e.resourceType ?? ''}/${e.resourceId ?? ''}`;

/**
 * Handles one outbox row for `consumer` exactly once (with `ordered`, after the unprocessed earlier rows of its
 * key): the processed marker (`outbox_processed`) is written in the same transaction as the handler's work, so a
 * job that runs twice (BullMQ is at-least-once) or is re-enqueued by the reconciler does nothing the second time.
 * The one-row case of `handleOutboxBatch`, the processor called row by row.
 */
export function handleOutboxEvent(
  db: Db,
  consumer: string,
  event: OutboxEvent,
  processor: OutboxProcessor,
  ordered: boolean,
): Promise<number> {
  return handleOutboxBatch(db, consumer, [event], rowByRow(processor), ordered);
}

/**
 * Outbox rows for `consumer` in one transaction: one call of `svu_outbox_claim` (migration 043) locks the
 * ordering keys (in hash order, so batches never deadlock each other or the one-row path, which takes a single
 * key), writes the markers of the given rows and of the unprocessed earlier rows of the same keys, and returns
 * those whose marker is new; they go to `processor` in outbox order. With `dispatch`, the same call marks the
 * given rows dispatched (the relay handling this consumer in its pass). Returns how many rows were handled.
 */
export async function handleOutboxBatch(
  db: Db,
  consumer: string,
  events: OutboxEvent[],
  processor: OutboxBatchProcessor,
  ordered: boolean,
  opts: { dispatch?: boolean } = {},
): Promise<number> {
  let after: (() => Promise<void>) | undefined;
  const handled = await db.transaction(async (tx) => {
    const byId = new Map(events.map((e) => [e.outboxId, e]));
    // the function's columns are prefixed (o_) so they cannot clash with its PL/pgSQL variables: renamed back here
    const { rows: claimed } = await tx.query<OutboxRow>(
      `SELECT o_id AS id, o_kind AS kind, o_resource_type AS resource_type, o_resource_id AS resource_id,
              o_version_id AS version_id, o_action AS action, o_stay_key AS stay_key, o_payload AS payload,
              o_created_at AS created_at
         FROM svu_outbox_claim($1, $2, $3, $4, $5)`,
      [consumer, [...byId.keys()], [...new Set(events.map(orderKey))], ordered, opts.dispatch ?? false],
    );
    const rows = claimed.map((c) => byId.get(Number(c.id)) ?? toOutboxEvent(c));
    if (rows.length > 0) after = (await processor(rows, tx)) ?? undefined;
    return rows.length;
  });
  if (after) await after();
  return handled;
}

/** A batch processor that hands the rows one by one, in order, to `processor`; their follow-ups run in order. */
export function rowByRow(processor: OutboxProcessor): OutboxBatchProcessor {
  return async (events, tx) => {
    const after: (() => Promise<void>)[] = [];
    for (const e of events) {
      const then = await processor(e, tx);
      if (then) after.push(then);
    }
    if (after.length === 0) return undefined;
    return async () => {
      for (const fn of after) await fn();
    };
  };
}

export function startOutboxConsumer(
  consumer: string,
  processor: OutboxProcessor,
  o: OutboxConsumerOptions,
): Worker<OutboxEvent> {
  const ordered = o.ordered ?? false;
  // A consumer without a batch processor is batched too, its processor called row by row in outbox order inside
  // the group's transaction: one claim call (locks, earlier rows, markers) and one commit per group instead of
  // BEGIN, lock, earlier-rows query, marker insert and COMMIT per row (an HL7 A01 makes 8 outbox rows: issue 17).
  const batch = o.batch ?? { processor: rowByRow(processor) };
  // A single job goes through the batch processor too: the row and the unprocessed earlier rows of its
  // key reach the processor in one call (the matcher records their events in one locking call; row by row,
  // each call took chain locks after the previous one's, out of hash order: a deadlock, issue 12 item 10).
  const one = (e: OutboxEvent) => handleOutboxBatch(o.db, consumer, [e], batch.processor, ordered);
  const batcher = createMicroBatcher<OutboxEvent, number>({
    maxBatch: batch.maxBatch ?? 100,
    maxInFlight: batch.maxInFlight ?? 2,
    // Each job counts as handled (1) or already done (0); the group's total is spread over its jobs.
    runBatch: async (events) => {
      const n = await handleOutboxBatch(o.db, consumer, events, batch.processor, ordered);
      return events.map((_, i) => (i < n ? 1 : 0));
    },
    runOne: one,
    onBatchError: (err, size) =>
      o.logger?.warn('outbox consumer batch failed; handling its rows one by one', {
        consumer,
        size,
        error: String(err),
      }),
  });
  const worker = createWorker<OutboxEvent>(
    consumer,
    async (job: Job<OutboxEvent>) => withLogContext({ jobId: job.id ?? '' }, () => batcher.submit(job.data)),
    { redisUrl: o.redisUrl, prefix: o.prefix },
    { concurrency: o.concurrency ?? 8 },
  );
  worker.on('failed', (job, err) => {
    if (!isConnectionError(err))
      o.logger?.warn('outbox consumer job failed', { consumer, jobId: job?.id, error: err.message });
  });
  worker.on('error', (err) => {
    if (!isConnectionError(err)) o.logger?.warn('outbox consumer worker error', { consumer, error: err.message });
  });
  return worker;
}

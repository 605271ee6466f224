import { afterEach, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import type { Task } from '@medplum/fhirtypes';
import { createQueue, createWorker } from '../../src/platform/queues';
import { DELIVERY_QUEUE } from '../../src/delivery/delivery.jobs';
import { createOutboxRelay } from '../../src/delivery/outbox-relay';
import { startOutboxConsumer } from '../../src/delivery/outbox-consumer';
import { outboxJobId, type OutboxEvent } from '../../src/delivery/outbox.types';
import { eventJobId, recordEvents } from '../../src/subscriptions/events.pg';
import { SUBSCRIPTION_MATCH_CONSUMER } from '../../src/subscriptions/matcher';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { waitFor } from './helpers';
import {
  createDeliveryService,
  fastOptions,
  testResources,
  subscribe,
  subscriptionFor,
  SYSTEM,
  task,
  testRepos,
  VASTERAS,
} from './fixture';

/** Runs jobs of `queue` with a processor that fails for good (as BullMQ does with a job that stalled twice). */
async function failJobsFor(name: string, prefix: string, jobId: string): Promise<void> {
  const worker = createWorker(
    name,
    async () => {
      throw new UnrecoverableError('job stalled more than allowable limit');
    },
    { redisUrl: testRedisUrl(), prefix },
  );
  const queue = createQueue(name, { redisUrl: testRedisUrl(), prefix });
  try {
    await waitFor(async () => !!(await queue.getJob(jobId))?.finishedOn, 5000, 'the job to fail');
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe('events never stay stuck (stall causes found in review)', () => {
  const { closers, closeAll, open, receiver } = testResources();
  afterEach(closeAll);

  it('when the breaker probe turns out to be a skipped event, then the endpoint is not blocked for ever', async () => {
    const db = await open();
    const rx = await receiver();
    const service = createDeliveryService(fastOptions(db, { breaker: { threshold: 1, openMs: 300, maxOpenMs: 300 } }));
    service.start();
    closers.push(() => service.stop());
    await subscribe(db, VASTERAS, subscriptionFor(rx.url));
    service.breakers.failure(rx.url); // open: the next admitted job is the probe
    const repo = testRepos()(db, SYSTEM);
    // The probe: a Task matched for Västerås but handed to Sala before delivery, so it is skipped (no POST).
    const moved = await repo.create(task('vasteras', 'stay-moved'));
    await repo.update<Task>({ ...moved, owner: { reference: 'Organization/sala' } });
    await waitFor(
      async () =>
        (await db.query(`SELECT 1 FROM subscription_event WHERE focus_id = $1 AND status = 'skipped'`, [moved.id])).rows
          .length > 0,
      5000,
      'the moved Task to be skipped',
    );
    await repo.create(task('vasteras', 'stay-next'));
    await waitFor(() => rx.events().length === 1, 4000, 'the next notification');
    // The receiver has the POST; the worker records the success when the answer is back.
    await waitFor(() => service.breakers.state(rx.url) === 'closed', 4000, 'the breaker to close');
    expect(service.breakers.state(rx.url)).toBe('closed');
  });

  it('when a queued event’s job failed for good in BullMQ, then the reconciler adds it again and it is delivered', async () => {
    const db = await open();
    const rx = await receiver();
    const opts = fastOptions(db);
    const first = createDeliveryService(opts);
    first.start();
    await subscribe(db, VASTERAS, subscriptionFor(rx.url));
    await first.stop();
    // A Task whose outbox row the matcher has handled: its event is queued, its job failed (e.g. stalled twice).
    const t = await testRepos()(db, SYSTEM).create(task('vasteras', 'stay-f'));
    const { rows } = await db.query<{ id: number; sub: string }>(
      `SELECT o.id, (SELECT id FROM subscription_registry LIMIT 1) AS sub FROM outbox o WHERE o.resource_id = $1`,
      [t.id],
    );
    const row = rows[0]!;
    await db.query(`UPDATE outbox SET dispatched_at = now() WHERE id = $1`, [row.id]);
    await db.query(`INSERT INTO outbox_processed (consumer, outbox_id) VALUES ($1, $2)`, [
      SUBSCRIPTION_MATCH_CONSUMER,
      row.id,
    ]);
    const [ref] = await db.transaction((tx) =>
      recordEvents(tx, [
        {
          subscriptionId: row.sub,
          orderKey: 'stay-f',
          focusType: 'Task',
          focusId: t.id!,
          focusVersion: t.meta?.versionId,
          action: 'create',
          outboxId: row.id,
          committedAt: new Date().toISOString(),
        },
      ]),
    );
    const second = createDeliveryService(opts);
    closers.push(() => second.stop());
    await second.enqueueEvents([ref!]);
    await failJobsFor(DELIVERY_QUEUE, opts.prefix, eventJobId(ref!));
    second.start();
    await waitFor(() => rx.events().length === 1, 5000, 'the notification');
  });

  it('when an outbox row’s consumer job failed for good, then the outbox reconciler re-enqueues it and it is handled', async () => {
    const db = await open();
    const prefix = uniquePrefix();
    await db.query(
      `INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
       VALUES ('resource-changed', 'Task', 't1', '1', 'create', 's1')`,
    );
    const relay = createOutboxRelay({
      db,
      redisUrl: testRedisUrl(),
      prefix,
      consumers: ['c'],
      reconcileGraceMs: 0,
    });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(1);
    await failJobsFor('c', prefix, outboxJobId(1));
    const seen: number[] = [];
    const worker = startOutboxConsumer('c', async (e: OutboxEvent) => void seen.push(e.outboxId), {
      db,
      redisUrl: testRedisUrl(),
      prefix,
      ordered: true,
    });
    closers.push(() => worker.close());
    expect(await relay.reconcileOnce()).toBe(1);
    await waitFor(() => seen.length === 1, 5000, 'the row to be handled');
    expect(seen).toEqual([1]);
  });
});

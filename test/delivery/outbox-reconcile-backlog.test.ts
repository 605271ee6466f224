import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { createOutboxRelay } from '../../src/delivery/outbox-relay';
import { startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import { createDeliveryService, fastOptions } from './fixture';

// Issue 12 item 9: after a loss of Redis, every outbox row reaches every consumer however large the backlog.

describe.each(testDatabases())('outbox reconciler under a backlog on %s', (kind) => {
  let db: ClosableDb;
  let redis: LocalRedis;
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    db = await openTestDb(kind);
    redis = await startLocalRedis(); // private: this test flushes it
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await redis.stop();
    await db.close();
  });

  it('when Redis is flushed under a backlog of 2 500 unprocessed rows, then the reconciler re-adds a job for every row, the last as well as the first', async () => {
    const rows = 2500;
    await db.query(
      `INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
       SELECT 'resource-changed', 'Task', 't' || g, '1', 'create', 's' || g FROM generate_series(1, $1) g`,
      [rows],
    );
    const relay = createOutboxRelay({
      db,
      redisUrl: redis.url,
      prefix: uniquePrefix(),
      consumers: ['deadline-events', 'subscription-match'],
      reconcileGraceMs: 0,
    });
    closers.push(() => relay.stop());
    while ((await relay.relayOnce()) > 0);
    const admin = new Redis(redis.url);
    closers.push(() => admin.quit());
    await admin.flushall();

    // Two passes, no consumer running (the worker was killed): the backlog stays unprocessed throughout.
    await relay.reconcileOnce();
    await relay.reconcileOnce();
    for (const q of relay.queues.values()) {
      expect(await q.getJobCountByTypes('waiting')).toBe(rows);
      expect(await q.getJob(`ob-${rows}`)).toBeDefined();
    }
    // Nothing is added twice: a third pass finds every job in place.
    expect(await relay.reconcileOnce()).toBe(0);
  }, 120_000);
});

describe.each(testDatabases())('delivery events reconciler under a backlog on %s', (kind) => {
  let db: ClosableDb;
  let redis: LocalRedis;
  beforeEach(async () => {
    db = await openTestDb(kind);
    redis = await startLocalRedis(); // private: this test flushes it
  });
  afterEach(async () => {
    await redis.stop();
    await db.close();
  });

  it('when Redis is flushed under 2 500 queued notifications, then the reconciler re-adds a delivery job for every one', async () => {
    const events = 2500;
    await db.query(
      `INSERT INTO subscription_registry (id, status, resource) VALUES ('sub-1', 'active', '{"resourceType":"Subscription"}')`,
    );
    await db.query(
      `INSERT INTO subscription_event (subscription_id, event_number, order_key, focus_type, focus_id, status,
          committed_at, created_at)
       SELECT 'sub-1', g, 'stay-' || g, 'Task', 't' || g, 'queued', now(), now() - interval '1 minute'
         FROM generate_series(1, $1) g`,
      [events],
    );
    // No worker runs (it was killed); Redis lost every job.
    const service = createDeliveryService(fastOptions(db, { redisUrl: redis.url, reconcileGraceMs: 0 }));
    try {
      await service.reconcileEvents();
      await service.reconcileEvents();
      const q = service.deliveryQueue();
      expect(await q.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(events);
      expect(await service.reconcileEvents()).toBe(0);
    } finally {
      await service.stop();
    }
  }, 120_000);
});

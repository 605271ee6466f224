import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEADLINE_EVENTS_CONSUMER } from '../../src/deadlines/deadline-service';
import { createDeliveryService, type DeliveryService } from '../../src/delivery/delivery-service';
import { createOutboxRelay } from '../../src/delivery/outbox-relay';
import { systemClock } from '../../src/platform/clock';
import { startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import type { ClosableDb } from '../../src/store/db.port';
import { fastOptions } from '../delivery/fixture';
import { openTestDb } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { createOrgs, createTask, HOUR, startService, systemRepo, waitFor, type Harness } from './harness';

// Issue 12 item 9, end to end: Redis is lost (FLUSHALL) while a worker is down and 2 000 Tasks wait for their
// deadline ladder, some already past due. The database is the truth: when a worker comes back, its reconcilers
// alone (outbox reconciler, then the deadline timer reconciler) must give every Task its steps and a wake-up
// job for each pending step, and fire the steps already due. Tasks are written through the repository (the
// outbox rows are the repository's own) and reach the ladder through the deadline consumer.
// PostgreSQL only (DATABASE_URL): PGlite in one process would take minutes for 2 000 Tasks.

const run = process.env.DATABASE_URL ? describe : describe.skip;
const FUTURE = 2000; // all four steps in the future
const PAST = 60; // deadline passed: the overdue notice is due at once

interface Worker {
  delivery: DeliveryService;
  deadlines: Harness;
  stop(): Promise<void>;
}

async function startWorker(db: ClosableDb, redisUrl: string, prefix: string): Promise<Worker> {
  const deadlines = await startService(db, systemClock, redisUrl, prefix);
  const delivery = createDeliveryService(
    fastOptions(db, { redisUrl, prefix, reconcileMs: 200, reconcileGraceMs: 200, directDispatch: false }),
  );
  delivery.registerOutboxConsumer(DEADLINE_EVENTS_CONSUMER, deadlines.service.outboxProcessor);
  delivery.start();
  return {
    delivery,
    deadlines,
    async stop() {
      await delivery.stop();
      await deadlines.close();
    },
  };
}

async function count(db: ClosableDb, sql: string, params: unknown[] = []): Promise<number> {
  const r = await db.query<{ n: string | number }>(sql, params);
  return Number(r.rows[0]?.n ?? 0);
}

run('FLUSHALL under a 2 000-Task deadline backlog on postgres', () => {
  let db: ClosableDb;
  let redis: LocalRedis;
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    db = await openTestDb('postgres', { max: 20 });
    redis = await startLocalRedis(); // private: this test flushes it
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    await redis.stop();
    await db.close();
  });

  it('when Redis is flushed with the worker down, then every Task gets its steps and timers back and due steps fire', async () => {
    const repo = systemRepo(db, systemClock);
    const orgs = await createOrgs(repo);
    const prefix = uniquePrefix();
    const now = Date.now();
    const ids: string[] = [];
    const create = async (n: number, deadline: (i: number) => Date, authoredOn: Date) => {
      for (let i = 0; i < n; i += 25) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(25, n - i) }, (_, k) =>
            createTask(repo, {
              owner: orgs.municipality,
              requester: orgs.hospital,
              authoredOn,
              deadline: deadline(i + k),
            }),
          ),
        );
        ids.push(...batch.map((t) => t.id!));
      }
    };

    // 1. A worker runs and puts the first half on the ladder (timers armed in Redis), then goes down.
    // (The waits are generous: idle this takes 17 s, under CI load of other test files 40 s or more.)
    const first = await startWorker(db, redis.url, prefix);
    await create(FUTURE / 2, (i) => new Date(now + (7 * 24 + (i % 48)) * HOUR), new Date(now));
    await waitFor(
      async () => (await count(db, 'SELECT count(DISTINCT task_id) AS n FROM deadline_task')) >= FUTURE / 2,
      90_000,
      'the first half on the ladder',
    );
    await first.stop();

    // 2. The rest arrives while no worker consumes: the API's writes and a relay pass put their events into
    // Redis (dispatched rows, unprocessed). Among them Tasks whose deadline has already passed.
    await create(FUTURE / 2, (i) => new Date(now + (7 * 24 + (i % 48)) * HOUR), new Date(now));
    await create(PAST, () => new Date(now - 60_000), new Date(now - 30 * HOUR));
    // (The stopped worker's relay lease runs for 15 s; let it be over, as it is 15 s after a kill.)
    await db.query(`UPDATE outbox_relay_lease SET until = now() - interval '1 second'`);
    const relay = createOutboxRelay({
      db,
      redisUrl: redis.url,
      prefix,
      consumers: [DEADLINE_EVENTS_CONSUMER, 'subscription-match'],
    });
    while ((await relay.relayOnce()) > 0);
    await relay.stop();
    await db.query(`UPDATE outbox_relay_lease SET until = now() - interval '1 second'`);
    expect(await count(db, 'SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL')).toBe(0);

    // 3. Redis loses everything: the armed timers of the first half and the events of the second.
    const admin = new Redis(redis.url);
    closers.push(() => admin.quit());
    await admin.flushall();

    // 4. A worker comes back. Nothing but its reconcilers knows what was lost.
    const second = await startWorker(db, redis.url, prefix);
    closers.push(() => second.stop());
    const total = FUTURE + PAST;
    await waitFor(
      async () => (await count(db, 'SELECT count(DISTINCT task_id) AS n FROM deadline_step')) === total,
      90_000,
      'every Task on the ladder',
    );
    // The timer reconciler (run at start and then periodically; here called as the periodic pass would).
    const pendingNow = async () =>
      count(db, 'SELECT count(*) AS n FROM deadline_step WHERE fired_at IS NULL AND cancelled_at IS NULL');
    await second.deadlines.service.reconcile();
    const queue = second.deadlines.service.timers.queue;
    await waitFor(
      async () =>
        (await count(
          db,
          `SELECT count(*) AS n FROM deadline_step WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()`,
        )) === 0,
      60_000,
      'the steps past due to fire',
    );
    // Every Task has its four steps; every pending step has its wake-up job; the overdue notices fired.
    expect(await count(db, 'SELECT count(*) AS n FROM deadline_step')).toBe(total * 4);
    const missing = await second.deadlines.service.reconcile();
    expect(missing.rearmed).toBe(0);
    expect(missing.checked).toBe(await pendingNow());
    expect(await queue.getDelayedCount()).toBe(await pendingNow());
    expect(
      await count(
        db,
        `SELECT count(DISTINCT task_id) AS n FROM deadline_step WHERE kind = 'overdue' AND fired_at IS NOT NULL`,
      ),
    ).toBe(PAST);
    // Nothing fired twice.
    const fired = second.deadlines.fired
      .filter((f) => f.result === 'fired')
      .map((f) => `${f.data.taskId}/${f.data.stepId}`);
    expect(new Set(fired).size).toBe(fired.length);
  }, 300_000);
});

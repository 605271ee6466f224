import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOutboxRelay } from '../../src/delivery/outbox-relay';
import { handleOutboxBatch, handleOutboxEvent, startOutboxConsumer } from '../../src/delivery/outbox-consumer';
import type { OutboxBatchProcessor, OutboxEvent } from '../../src/delivery/outbox.types';
import { startLocalRedis } from '../../src/platform/redis-server';
import { redisConnection } from '../../src/platform/queues';
import { waitFor } from './helpers';
import { createRepository } from '../../src/store/repository.pg';
import type { Task } from '@medplum/fhirtypes';

async function insertRows(db: ClosableDb, n: number, stay = 's1'): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db.query(
      `INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key) VALUES ('resource-changed', 'Task', $1, '1', 'create', $2)`,
      [`t${i}`, stay],
    );
  }
}

/**
 * A relay whose consumer `m` is handled inline (its rows to `processor`, dispatched in its transaction), beside the
 * queued consumer `a` unless `consumers` says otherwise.
 */
function inlineRelay(
  db: ClosableDb,
  prefix: string,
  processor: OutboxBatchProcessor,
  o: { consumers?: string[]; focusTypes?: () => string[]; reconcileGraceMs?: number } = {},
) {
  return createOutboxRelay({
    db,
    redisUrl: testRedisUrl(),
    prefix,
    consumers: o.consumers ?? ['a', 'm'],
    reconcileGraceMs: o.reconcileGraceMs,
    inline: [
      {
        consumer: 'm',
        focusTypes: o.focusTypes,
        handle: (events) => handleOutboxBatch(db, 'm', events, processor, true, { dispatch: true }),
      },
    ],
  });
}

describe.each(testDatabases())('outbox relay on %s', (kind) => {
  let db: ClosableDb;
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await db.close();
  });

  it('when rows are committed, then each goes to every consumer queue once as ob-<id> and is marked dispatched', async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 5);
    const relay = createOutboxRelay({ db, redisUrl: testRedisUrl(), prefix, consumers: ['a', 'b'] });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(5);
    expect(await relay.relayOnce()).toBe(0);
    for (const q of relay.queues.values()) {
      expect(await q.getJobCountByTypes('waiting')).toBe(5);
      const ids = (await q.getJobs(['waiting'])).map((j) => j.id).sort();
      expect(ids).toEqual(['ob-1', 'ob-2', 'ob-3', 'ob-4', 'ob-5']);
    }
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL');
    expect(rows[0]?.n).toBe(0);
  });

  it("when a resource write commits, then the relay is woken by the store's NOTIFY, not by its poll", async () => {
    const prefix = uniquePrefix();
    // Polling only once a minute: a prompt dispatch can only come from the notification.
    const relay = createOutboxRelay({ db, redisUrl: testRedisUrl(), prefix, consumers: ['a'], pollMs: 60_000 });
    closers.push(() => relay.stop());
    relay.start();
    await waitFor(async () => (await relay.lag()).pending === 0, 5000, 'the first pass');
    await createRepository(db, { system: true }).create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
    });
    await waitFor(async () => (await relay.queues.get('a')!.getJobCountByTypes('waiting')) === 1, 3000, 'the dispatch');
    // The relay enqueues first and marks the row afterwards (a crash in between re-enqueues under the same job id),
    // so the mark may land a moment after the job is visible: wait for it, well inside the one-minute poll.
    const undispatched = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL')).rows[0]?.n;
    await waitFor(async () => (await undispatched()) === 0, 3000, 'the mark after the dispatch');
    expect(await relay.queues.get('a')!.getJobCountByTypes('waiting')).toBe(1);
  });

  it('when two relays share the database, then only the lease holder relays, its passes leave the lease row alone until it runs low, and the other takes over once it expires', async () => {
    const prefix = uniquePrefix();
    const one = createOutboxRelay({ db, redisUrl: testRedisUrl(), prefix, consumers: ['a'] });
    const two = createOutboxRelay({ db, redisUrl: testRedisUrl(), prefix, consumers: ['a'] });
    closers.push(
      () => one.stop(),
      () => two.stop(),
    );
    const lease = async () =>
      (await db.query<{ holder: string; until: string }>('SELECT holder, until::text FROM outbox_relay_lease')).rows[0];
    await insertRows(db, 2);
    expect(await one.relayOnce()).toBe(2); // takes the free lease
    const taken = await lease();
    await insertRows(db, 2, 's2');
    expect(await two.relayOnce()).toBe(0); // held by the other
    expect(await one.relayOnce()).toBe(2);
    expect(await lease()).toEqual(taken); // more than 10 of its 15 s left: not written again
    await db.query(`UPDATE outbox_relay_lease SET until = now() + interval '5 seconds'`);
    await insertRows(db, 1, 's3');
    expect(await one.relayOnce()).toBe(1); // running low: renewed by its holder
    const renewed = await lease();
    expect(renewed?.holder).toBe(taken?.holder);
    expect(Date.parse(renewed!.until)).toBeGreaterThan(Date.now() + 10_000);
    await db.query(`UPDATE outbox_relay_lease SET until = now() - interval '1 second'`);
    await insertRows(db, 1, 's4');
    expect(await two.relayOnce()).toBe(1); // expired: taken over
    expect((await lease())?.holder).not.toBe(taken?.holder);
    expect(await one.relayOnce()).toBe(0);
  });

  it('when the relay crashed between enqueue and mark, then relaying again adds no duplicate job', async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 3);
    const relay = createOutboxRelay({ db, redisUrl: testRedisUrl(), prefix, consumers: ['a'] });
    closers.push(() => relay.stop());
    await relay.relayOnce();
    await db.query('UPDATE outbox SET dispatched_at = NULL'); // the mark was lost
    expect(await relay.relayOnce()).toBe(3);
    expect(await relay.queues.get('a')!.getJobCountByTypes('waiting')).toBe(3);
  });

  it('when a job runs twice, then the consumer handles its row once', async () => {
    await insertRows(db, 1);
    const seen: number[] = [];
    const ev: OutboxEvent = {
      outboxId: 1,
      kind: 'resource-changed',
      resourceType: 'Task',
      resourceId: 't0',
      versionId: '1',
      action: 'create',
      stayKey: 's1',
      payload: {},
      createdAt: new Date().toISOString(),
    };
    const p = async (e: OutboxEvent) => {
      seen.push(e.outboxId);
    };
    expect(await handleOutboxEvent(db, 'c', ev, p, true)).toBe(1);
    expect(await handleOutboxEvent(db, 'c', ev, p, true)).toBe(0);
    expect(seen).toEqual([1]);
  });

  it('when a later row of a stay is handled first, then the ordered consumer still sees the stay in outbox order', async () => {
    await insertRows(db, 3, 'stay-x');
    const seen: number[] = [];
    const p = async (e: OutboxEvent) => {
      seen.push(e.outboxId);
    };
    const ev = (id: number): OutboxEvent => ({
      outboxId: id,
      kind: 'resource-changed',
      resourceType: 'Task',
      resourceId: `t${id - 1}`,
      versionId: '1',
      action: 'create',
      stayKey: 'stay-x',
      payload: {},
      createdAt: new Date().toISOString(),
    });
    await handleOutboxEvent(db, 'c', ev(3), p, true);
    await handleOutboxEvent(db, 'c', ev(1), p, true);
    await handleOutboxEvent(db, 'c', ev(2), p, true);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('when Redis restarts empty before the rows were processed, then the reconciler re-enqueues them and none is lost', async () => {
    const redis = await startLocalRedis();
    closers.push(() => redis.stop());
    const prefix = uniquePrefix();
    await insertRows(db, 4);
    const relay = createOutboxRelay({ db, redisUrl: redis.url, prefix, consumers: ['c'], reconcileGraceMs: 0 });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(4);
    // Redis loses everything (restart without persistence) before any consumer ran.
    const port = redis.port;
    await redis.stop();
    const again = await startLocalRedis({ port });
    closers.push(() => again.stop());
    const seen: number[] = [];
    const worker = startOutboxConsumer('c', async (e) => void seen.push(e.outboxId), {
      db,
      redisUrl: again.url,
      prefix,
      ordered: true,
    });
    closers.push(() => worker.close());
    await waitFor(
      async () => (await relay.reconcileOnce().catch(() => 0)) > 0 || seen.length === 4,
      15_000,
      'reconcile',
    );
    await waitFor(() => seen.length === 4, 10_000, 'all rows processed');
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    // Everything processed: the next pass finds nothing to re-enqueue.
    expect(await relay.reconcileOnce()).toBe(0);
  });

  it('when a consumer is handled inline, then the relay handles its rows in its pass (markers and dispatch in one transaction) and adds no job for it', async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 2, 's1');
    await insertRows(db, 1, 's2');
    const seen: number[] = [];
    const relay = inlineRelay(db, prefix, async (rows) => void seen.push(...rows.map((r) => r.outboxId)));
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
    expect(await relay.queues.get('m')!.count()).toBe(0);
    expect(await relay.queues.get('a')!.getJobCountByTypes('waiting')).toBe(3);
    const { rows } = await db.query<{ d: number; m: number }>(
      `SELECT (SELECT count(*)::int FROM outbox WHERE dispatched_at IS NULL) AS d,
              (SELECT count(*)::int FROM outbox_processed WHERE consumer = 'm') AS m`,
    );
    expect(rows[0]).toEqual({ d: 0, m: 3 });
  });

  it("when an inline consumer asks for a resource type, then the relay reads those rows' resources with them (only a version still current) and no job carries them", async () => {
    const prefix = uniquePrefix();
    const repo = createRepository(db, { system: true });
    const task = await repo.create<Task>({ resourceType: 'Task', status: 'requested', intent: 'order' });
    await repo.update<Task>({ ...task, status: 'received' }); // version 2: the row of version 1 is no longer current
    const other = await repo.create<Task>({ resourceType: 'Task', status: 'requested', intent: 'proposal' });
    await repo.delete('Task', other.id!);
    await repo.create({ resourceType: 'Organization', name: 'Västerås stad' }); // a type not asked for
    const seen: OutboxEvent[] = [];
    const relay = inlineRelay(db, prefix, async (rows) => void seen.push(...rows), { focusTypes: () => ['Task'] });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(5);
    const focus = seen.map((e) => [e.resourceType, e.versionId, e.action, e.focusJson && JSON.parse(e.focusJson)]);
    expect(focus).toEqual([
      ['Task', '1', 'create', undefined],
      [
        'Task',
        '2',
        'update',
        expect.objectContaining({ id: task.id, status: 'received', meta: expect.objectContaining({ versionId: '2' }) }),
      ],
      ['Task', '1', 'create', undefined],
      ['Task', '2', 'delete', undefined],
      ['Organization', '1', 'create', undefined],
    ]);
    const jobs = await relay.queues.get('a')!.getJobs(['waiting']);
    expect(jobs).toHaveLength(5);
    expect(jobs.every((j) => !('focusJson' in j.data))).toBe(true);
  });

  it('when two consumers are handled inline side by side, then each handles the rows in its own transaction at the same time, one marks them dispatched, and the relay marks them when that one fails', async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 2);
    let inFlight = 0;
    let together = 0;
    const seen: Record<string, number[]> = { m: [], d: [] };
    let matcherFails = false;
    let bothIn!: () => void;
    const both = new Promise<void>((r) => (bothIn = r));
    const handler =
      (name: string): OutboxBatchProcessor =>
      async (rows) => {
        inFlight++;
        if (inFlight === 2) bothIn();
        // on PostgreSQL each waits (up to 10 s) for the other to be inside its transaction too: handled one after
        // the other, the first would wait in vain and `together` stay 1 (PGlite's single connection: no wait)
        if (kind === 'postgres') await Promise.race([both, new Promise((r) => setTimeout(r, 10_000))]);
        together = Math.max(together, inFlight);
        inFlight--;
        if (name === 'm' && matcherFails) throw new Error('boom');
        seen[name]!.push(...rows.map((r) => r.outboxId));
      };
    const relay = createOutboxRelay({
      db,
      redisUrl: testRedisUrl(),
      prefix,
      consumers: ['m', 'd'],
      inline: [
        {
          consumer: 'm',
          handle: (events) => handleOutboxBatch(db, 'm', events, handler('m'), true, { dispatch: true }),
        },
        {
          consumer: 'd',
          marksDispatched: false,
          handle: (events) => handleOutboxBatch(db, 'd', events, handler('d'), true),
        },
      ],
    });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(2);
    expect(together).toBe(kind === 'pglite' ? 1 : 2); // PGlite has one connection: its transactions take turns
    expect(seen).toEqual({ m: [1, 2], d: [1, 2] });
    const counts = () =>
      db.query<{ d: number; m: number; dd: number }>(
        `SELECT (SELECT count(*)::int FROM outbox WHERE dispatched_at IS NULL) AS d,
                (SELECT count(*)::int FROM outbox_processed WHERE consumer = 'm') AS m,
                (SELECT count(*)::int FROM outbox_processed WHERE consumer = 'd') AS dd`,
      );
    expect((await counts()).rows[0]).toEqual({ d: 0, m: 2, dd: 2 });
    // the consumer that marks them fails: the other still handles its rows, and the relay marks them dispatched
    await insertRows(db, 1, 's9');
    matcherFails = true;
    expect(await relay.relayOnce()).toBe(1);
    expect(seen.d).toEqual([1, 2, 3]);
    expect((await counts()).rows[0]).toEqual({ d: 0, m: 2, dd: 3 });
    expect(await relay.queues.get('m')!.getJobCountByTypes('waiting')).toBe(1);
    expect(await relay.queues.get('d')!.count()).toBe(0);
  });

  it('when the inline handling fails, then its rows go to the consumer queue and its worker handles them', async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 3);
    const relay = inlineRelay(db, prefix, () => Promise.reject(new Error('boom')), { consumers: ['m'] });
    closers.push(() => relay.stop());
    expect(await relay.relayOnce()).toBe(3);
    const { rows } = await db.query<{ d: number; m: number }>(
      `SELECT (SELECT count(*)::int FROM outbox WHERE dispatched_at IS NULL) AS d,
              (SELECT count(*)::int FROM outbox_processed WHERE consumer = 'm') AS m`,
    );
    expect(rows[0]).toEqual({ d: 0, m: 0 });
    expect(await relay.queues.get('m')!.getJobCountByTypes('waiting')).toBe(3);
    const seen: number[] = [];
    const worker = startOutboxConsumer('m', async (e) => void seen.push(e.outboxId), {
      db,
      redisUrl: testRedisUrl(),
      prefix,
      ordered: true,
    });
    closers.push(() => worker.close());
    await waitFor(() => seen.length === 3, 5000, 'the rows handled by the worker');
    expect(seen).toEqual([1, 2, 3]);
  });

  it("when adding the queued consumers' jobs fails while the inline consumer handled the rows, then the pass fails and the reconciler adds those jobs later", async () => {
    const prefix = uniquePrefix();
    await insertRows(db, 3);
    const handled: number[] = [];
    const relay = inlineRelay(db, prefix, async (rows) => void handled.push(...rows.map((r) => r.outboxId)), {
      reconcileGraceMs: 0,
    });
    closers.push(() => relay.stop());
    const queue = relay.queues.get('a')!;
    const addBulk = queue.addBulk.bind(queue);
    queue.addBulk = () => Promise.reject(new Error('Redis went away'));
    await expect(relay.relayOnce()).rejects.toThrow('Redis went away');
    // The inline consumer ran alongside and committed: the rows are dispatched, but 'a' has no job yet.
    expect(handled).toEqual([1, 2, 3]);
    expect(await queue.count()).toBe(0);
    expect(await relay.relayOnce()).toBe(0);
    queue.addBulk = addBulk;
    await waitFor(async () => (await relay.reconcileOnce()) > 0, 5000, 'the reconciler re-adds the jobs');
    expect((await queue.getJobs(['waiting'])).map((j) => j.id).sort()).toEqual(['ob-1', 'ob-2', 'ob-3']);
  });

  it('when a consumer queue is checked, then its connection works with a private prefix', async () => {
    const conn = redisConnection(testRedisUrl());
    closers.push(() => conn.quit());
    const q = new Queue('x', { connection: conn, prefix: uniquePrefix() });
    closers.push(() => q.close());
    expect(await q.count()).toBe(0);
  });
});

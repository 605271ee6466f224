import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { handleOutboxBatch, handleOutboxEvent } from '../../src/delivery/outbox-consumer';
import type { OutboxEvent } from '../../src/delivery/outbox.types';
import { createMicroBatcher } from '../../src/delivery/micro-batch';
import { getEvent, recordEvents, type NewEvent } from '../../src/subscriptions/events.pg';
import { completeDelivered } from '../../src/subscriptions/events-batch.pg';

const ev = (id: number, stay: string): OutboxEvent => ({
  outboxId: id,
  kind: 'resource-changed',
  resourceType: 'Task',
  resourceId: `t${id}`,
  versionId: '1',
  action: 'create',
  stayKey: stay,
  payload: {},
  createdAt: new Date().toISOString(),
});

const newEvent = (outboxId: number, orderKey: string): NewEvent => ({
  subscriptionId: 'sub-1',
  orderKey,
  focusType: 'Task',
  focusId: `t${outboxId}`,
  focusVersion: '1',
  action: 'create',
  outboxId,
  committedAt: new Date().toISOString(),
});

describe.each(testDatabases())('batched matching and completion on %s', (kind) => {
  let db: ClosableDb;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it('when a batch holds later rows of two stays, then the consumer sees every stay in outbox order, each row once', async () => {
    const stays = ['x', 'x', 'y', 'x', 'y'];
    for (const [i, stay] of stays.entries())
      await db.query(
        `INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
         VALUES ('resource-changed', 'Task', $1, '1', 'create', $2)`,
        [`t${i + 1}`, stay],
      );
    const seen: number[] = [];
    const batch = async (events: OutboxEvent[]) => void seen.push(...events.map((e) => e.outboxId));
    // Jobs of rows 4 and 5 run first, together: rows 1–3 (earlier, same stays) are handled before them.
    expect(await handleOutboxBatch(db, 'c', [ev(4, 'x'), ev(5, 'y')], batch, true)).toBe(5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // The other jobs (and a repeat of the batch) find their rows done.
    expect(await handleOutboxBatch(db, 'c', [ev(2, 'x'), ev(5, 'y')], batch, true)).toBe(0);
    expect(await handleOutboxEvent(db, 'c', ev(3, 'y'), async () => void seen.push(-1), true)).toBe(0);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('when several events of one stay are numbered together, then the first is queued, the rest wait and are released one by one', async () => {
    await db.query(
      `INSERT INTO subscription_registry (id, status, resource) VALUES ('sub-1', 'active', '{"resourceType":"Subscription"}')`,
    );
    const queued = await db.transaction((tx) =>
      recordEvents(tx, [newEvent(1, 'a'), newEvent(2, 'a'), newEvent(3, 'b'), newEvent(4, 'a')]),
    );
    expect(queued.map((q) => q.eventNumber)).toEqual([1, 3]);
    const status = async (n: number) => (await getEvent(db, 'sub-1', n))?.status;
    expect([await status(1), await status(2), await status(3), await status(4)]).toEqual([
      'queued',
      'waiting',
      'queued',
      'waiting',
    ]);
    // A second batch for stay b waits behind event 3, still undelivered.
    const more = await db.transaction((tx) => recordEvents(tx, [newEvent(5, 'b')]));
    expect(more).toEqual([]);
    const log = { endpoint: 'http://rx/hook', attempt: 1, status: 'delivered', httpStatus: 200, durationMs: 3 };
    const e1 = (await getEvent(db, 'sub-1', 1))!;
    const e3 = (await getEvent(db, 'sub-1', 3))!;
    const released = await db.transaction((tx) =>
      completeDelivered(tx, [
        { ev: e1, log },
        { ev: e3, log },
      ]),
    );
    expect(released.map((r) => r.eventNumber).sort()).toEqual([2, 5]);
    expect([await status(1), await status(2), await status(3), await status(4), await status(5)]).toEqual([
      'delivered',
      'queued',
      'delivered',
      'waiting',
      'queued',
    ]);
    const { rows } = await db.query<{ n: number; attempts: number }>(
      `SELECT events_since_start AS n, (SELECT count(*)::int FROM delivery_attempt) AS attempts
         FROM subscription_registry WHERE id = 'sub-1'`,
    );
    expect(rows[0]).toEqual({ n: 5, attempts: 2 });
  });
});

describe('group commit', () => {
  it('when a batch fails because of one item, then the others still succeed and only that one fails', async () => {
    const b = createMicroBatcher<string, string>({
      maxBatch: 10,
      maxInFlight: 1,
      runBatch: async (items) => {
        if (items.includes('bad')) throw new Error('poison');
        return items.map((i) => i.toUpperCase());
      },
      runOne: async (i) => {
        if (i === 'bad') throw new Error('poison');
        return i.toUpperCase();
      },
    });
    const results = await Promise.allSettled(['a', 'b', 'bad', 'c'].map((i) => b.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual(['A', 'B', 'rejected', 'C']);
    expect(b.stats()).toEqual({ batches: 1, items: 4 });
  });
});

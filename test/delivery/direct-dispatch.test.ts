import { afterEach, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { listQueued, recordEvents } from '../../src/subscriptions/events.pg';
import { openTestDb, testDatabases } from '../support/db';
import { eventNumbers, waitFor } from './helpers';
import { subscribe, subscriptionFor, SYSTEM, task, testRepos, testResources, VASTERAS } from './fixture';

describe('direct dispatch (real Redis, real HTTP receivers)', () => {
  const { closeAll, setup } = testResources();
  afterEach(closeAll);

  const eventJobs = async (service: Awaited<ReturnType<typeof setup>>['service']) =>
    (
      await service.deliveryQueue().getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'])
    ).filter((j) => j.name === 'event');

  it('when Tasks are matched in the process that delivers, then their notifications go out without a delivery job', async () => {
    const { db, receiver, service } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    const repo = testRepos()(db, SYSTEM);
    for (let i = 0; i < 3; i++) await repo.create(task('vasteras', `d-${i}`));
    await waitFor(() => receiver.events().length === 3, 10_000, 'three notifications');
    expect(new Set(receiver.events().flatMap(eventNumbers))).toEqual(new Set([1, 2, 3]));
    expect(service.directStats()).toEqual({ pushed: 3, handedOff: 0 });
    expect(await eventJobs(service)).toHaveLength(0);
  });

  it('when the receiver answers slower than the reconcile grace, then the claimed event is not sent a second time', async () => {
    const { db, receiver, service } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    receiver.delayMs = 800; // grace 400 ms, reconciler every 250 ms, POST timeout 1 s
    let posts = 0;
    receiver.status = () => (posts++, 200);
    await testRepos()(db, SYSTEM).create(task('vasteras', 'd-slow'));
    await waitFor(() => receiver.events().length === 1, 10_000, 'the notification');
    await new Promise((r) => setTimeout(r, 1200)); // several reconciler passes after the delivery
    expect(posts).toBe(1);
    expect(await eventJobs(service)).toHaveLength(0);
  });

  it('when the direct attempt fails, then a delivery job retries it and it arrives', async () => {
    const { db, receiver, service } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    let calls = 0;
    receiver.status = () => (++calls === 1 ? 503 : 200);
    await testRepos()(db, SYSTEM).create(task('vasteras', 'd-9'));
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM subscription_event WHERE status = 'delivered'`)).rows.length === 1,
      10_000,
      'the retried delivery',
    );
    expect(calls).toBe(2);
    expect(receiver.events()).toHaveLength(1);
    expect(service.directStats()).toEqual({ pushed: 1, handedOff: 1 });
    expect(await eventJobs(service)).toHaveLength(1);
    const { rows } = await db.query<{ status: string }>(
      `SELECT status FROM delivery_attempt WHERE kind = 'event' ORDER BY id`,
    );
    expect(rows.map((r) => r.status)).toEqual(['failed', 'delivered']);
  });
});

describe.each(testDatabases())('claims of directly dispatched events on %s', (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('when an event is claimed by the process that recorded it, then the reconciler leaves it alone until the claim runs out', async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO subscription_registry (id, status, resource) VALUES ('sub-1', 'active', '{"resourceType":"Subscription"}')`,
    );
    const event = (outboxId: number) => ({
      subscriptionId: 'sub-1',
      orderKey: `stay-${outboxId}`,
      focusType: 'Task',
      focusId: `t${outboxId}`,
      outboxId,
      committedAt: new Date().toISOString(),
    });
    await db.transaction((tx) => recordEvents(tx, [event(1)], 60_000));
    await db.transaction((tx) => recordEvents(tx, [event(2)], 1));
    await db.transaction((tx) => recordEvents(tx, [event(3)]));
    await new Promise((r) => setTimeout(r, 20));
    const listed = (await listQueued(db, 0)).map((r) => r.eventNumber).sort();
    // Event 1 is still claimed; event 2's claim ran out (its process died); event 3 was never claimed.
    expect(listed).toEqual([2, 3]);
  });
});

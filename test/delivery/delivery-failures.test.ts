import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { startLocalRedis } from '../../src/platform/redis-server';
import { getRegistryEntry } from '../../src/subscriptions/registry.pg';
import { EXT } from '../../src/subscriptions/topics';
import { eventNumbers, notificationType, waitFor } from './helpers';
import { listSubscriptionsForAdmin } from '../../src/admin/subscriptions-admin.pg';
import {
  BASE,
  createDeliveryService,
  fastOptions,
  testResources,
  SALA,
  subscribe,
  subscriptionFor,
  SYSTEM,
  task,
  testRepos,
  VASTERAS,
} from './fixture';

const focusOf = (r: { json: { entry?: { resource?: unknown }[] } }) => r.json.entry?.[1]?.resource as Task;

describe('delivery under failure (real Redis, real HTTP receivers)', () => {
  const { closers, closeAll, open, receiver } = testResources();
  afterEach(closeAll);

  it('when one endpoint hangs, then the others still get their notifications promptly', async () => {
    const db = await open();
    const service = createDeliveryService(fastOptions(db, { concurrency: 4, timeoutMs: 800 }));
    service.start();
    closers.push(() => service.stop());
    const slow = await receiver();
    const good = await receiver();
    await subscribe(db, VASTERAS, subscriptionFor(slow.url));
    await subscribe(db, SALA, subscriptionFor(good.url, { criteria: 'Task?owner=Organization/sala' }));
    slow.delayMs = 5000; // every call times out
    const repo = testRepos()(db, SYSTEM);
    for (let i = 0; i < 8; i++) await repo.create(task('vasteras', `v-${i}`));
    const started = Date.now();
    for (let i = 0; i < 8; i++) await repo.create(task('sala', `s-${i}`));
    await waitFor(() => good.events().length === 8, 8000, 'the good endpoint');
    const elapsed = Date.now() - started;
    // Four slots, 800 ms timeouts: without the breaker the hanging endpoint would hold them for seconds.
    expect(elapsed).toBeLessThan(6000);
    // The good endpoint may be done before the first timeout (800 ms); the hanging one's breaker opens after them.
    await waitFor(() => service.breakers.state(slow.url) !== 'closed', 5000, 'the breaker of the hanging endpoint');
  });

  it('when an endpoint rejects an event with 400, then it goes to the dead-letter queue, parks its stay, and replay delivers both in order', async () => {
    const db = await open();
    const service = createDeliveryService(fastOptions(db));
    service.start();
    closers.push(() => service.stop());
    const r = await receiver();
    const sub = await subscribe(db, VASTERAS, subscriptionFor(r.url));
    r.status = () => 400;
    const repo = testRepos()(db, SYSTEM);
    const t = await repo.create(task('vasteras', 'poison-stay'));
    await waitFor(async () => (await db.query('SELECT 1 FROM dead_letter')).rows.length === 1, 8000, 'dead letter');
    await waitFor(async () => (await getRegistryEntry(db, sub.id!))?.status === 'error', 5000, 'status error');
    r.status = () => 200;
    await repo.update({ ...t, status: 'received' }); // same stay: must wait behind the dead one
    const other = await repo.create(task('vasteras', 'healthy-stay')); // another stay: not blocked
    await waitFor(() => r.events().length === 1, 8000, 'the other stay');
    expect(focusOf(r.events()[0]!).id).toBe(other.id);
    const dl = (await db.query<{ id: number }>('SELECT id FROM dead_letter')).rows[0]!;
    expect(await service.replayDeadLetter(dl.id)).toBeDefined();
    expect(await service.replayDeadLetter(dl.id)).toBeUndefined(); // only once
    await waitFor(() => r.events().length === 3, 8000, 'replayed and released');
    const forT = r.events().filter((x) => focusOf(x).id === t.id);
    expect(forT.map((x) => focusOf(x).status)).toEqual(['requested', 'received']);
    expect(forT.flatMap(eventNumbers)).toEqual([1, 2]);
    expect((await getRegistryEntry(db, sub.id!))?.status).toBe('active'); // the other stay's success restored it
  });

  it('when one Subscription is refused at an endpoint, then another Subscription at the same URL still gets every notification', async () => {
    const db = await open();
    const service = createDeliveryService(fastOptions(db));
    service.start();
    closers.push(() => service.stop());
    const r = await receiver();
    // the receiver still answers (it is up), but refuses what comes for an old Subscription whose secret it lost
    r.status = (x) => (x.headers.authorization === 'Bearer stale' && notificationType(x) !== 'handshake' ? 401 : 200);
    const beat = [{ url: EXT.heartbeatPeriod, valueUnsignedInt: 1 }];
    const stale = await subscribe(
      db,
      VASTERAS,
      subscriptionFor(r.url, {
        channel: { type: 'rest-hook', endpoint: r.url, header: ['Authorization: Bearer stale'], extension: beat },
      }),
    );
    await subscribe(db, SALA, subscriptionFor(r.url, { criteria: 'Task?owner=Organization/sala' }));
    // its refused heartbeats show the old Subscription in error with why
    await waitFor(
      async () => (await getRegistryEntry(db, stale.id!))?.resource.error?.startsWith('Heartbeat rejected') === true,
      8000,
      'the stale Subscription in error',
    );
    // the admin's list of Subscriptions says why
    const listed = (await listSubscriptionsForAdmin(db, BASE)).find((x) => x.id === stale.id);
    expect(listed?.lastError).toMatch(/^Heartbeat rejected: HTTP 401/);
    // and once the receiver takes them again, it is active again
    const refusing = r.status;
    r.status = () => 200;
    await waitFor(async () => (await getRegistryEntry(db, stale.id!))?.status === 'active', 8000, 'active again');
    r.status = refusing;
    const repo = testRepos()(db, SYSTEM);
    // more refusals than the breaker's threshold (3 here), each a stay of its own
    for (let i = 0; i < 6; i++) await repo.create(task('vasteras', `refused-${i}`));
    await waitFor(
      async () => (await db.query('SELECT 1 FROM dead_letter')).rows.length === 6,
      8000,
      'the refused notifications dead-lettered',
    );
    // refusals are no outage: the endpoint's breaker stays closed (before: open, and Sala's notifications postponed)
    expect(service.breakers.state(r.url)).toBe('closed');
    for (let i = 0; i < 4; i++) await repo.create(task('sala', `sala-${i}`));
    await waitFor(() => r.events().length === 4, 8000, 'Sala’s notifications');
    expect(service.breakers.state(r.url)).toBe('closed');
  });

  it('when a worker process dies mid-batch, then another worker delivers everything', async () => {
    const db = await open();
    const opts = fastOptions(db, { concurrency: 2 });
    const first = createDeliveryService(opts);
    first.start();
    const r = await receiver();
    await subscribe(db, VASTERAS, subscriptionFor(r.url));
    r.delayMs = 300;
    const repo = testRepos()(db, SYSTEM);
    for (let i = 0; i < 10; i++) await repo.create(task('vasteras', `k-${i}`));
    await waitFor(() => r.events().length >= 1, 8000, 'first deliveries');
    // Abrupt death: no graceful close of the in-flight jobs (force), timers stop with it.
    const killed = first.abort();
    const second = createDeliveryService(opts);
    second.start();
    closers.push(() => second.stop());
    await killed.catch(() => undefined);
    r.delayMs = 0;
    await waitFor(() => new Set(r.events().flatMap(eventNumbers)).size === 10, 20_000, 'all ten');
  });

  it('when Redis restarts empty while notifications are pending, then none is lost', async () => {
    const redis = await startLocalRedis();
    closers.push(() => redis.stop());
    const db = await open();
    const service = createDeliveryService(fastOptions(db, { redisUrl: redis.url }));
    service.start();
    closers.push(() => service.stop());
    const r = await receiver();
    await subscribe(db, VASTERAS, subscriptionFor(r.url));
    r.status = () => 503;
    const repo = testRepos()(db, SYSTEM);
    for (let i = 0; i < 5; i++) await repo.create(task('vasteras', `r-${i}`));
    await waitFor(async () => (await db.query(`SELECT 1 FROM subscription_event`)).rows.length === 5, 8000, 'events');
    const port = redis.port;
    await redis.stop();
    for (let i = 5; i < 8; i++) await repo.create(task('vasteras', `r-${i}`)); // written while Redis is down
    const again = await startLocalRedis({ port });
    closers.push(() => again.stop());
    r.status = () => 200;
    await waitFor(() => new Set(r.events().flatMap(eventNumbers)).size === 8, 25_000, 'all eight after the restart');
    await service.stop(); // while this Redis still runs
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { verifySignature } from '../../src/delivery/signature';
import { getRegistryEntry } from '../../src/subscriptions/registry.pg';
import { eventNumbers, notificationType, waitFor } from './helpers';
import { subscribe, subscriptionFor, SYSTEM, task, testRepos, testResources, VASTERAS } from './fixture';

describe('delivery end to end (real Redis, real HTTP receivers)', () => {
  const { closeAll, setup } = testResources();
  afterEach(closeAll);

  it('when a Task is created for the subscriber, then a signed history notification arrives after the handshake', async () => {
    const { db, receiver } = await setup();
    const sub = await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    expect(notificationType(receiver.received[0]!)).toBe('handshake');
    const t = await testRepos()(db, SYSTEM).create(task('vasteras', 'stay-1'));
    await waitFor(() => receiver.events().length === 1, 10_000, 'notification');
    const n = receiver.events()[0]!;
    expect(n.headers['authorization']).toBe('Bearer receiver-token');
    expect(n.headers['x-event-id']).toBe(`${sub.id}:1`);
    expect(verifySignature('top-secret', n.headers, n.body)).toEqual({ ok: true });
    expect(verifySignature('wrong', n.headers, n.body).ok).toBe(false);
    expect(verifySignature('top-secret', n.headers, n.body.replace('stay-1', 'stay-2')).ok).toBe(false);
    expect(n.json.type).toBe('history');
    expect(eventNumbers(n)).toEqual([1]);
    const focus = n.json.entry?.[1]?.resource as unknown as Task | undefined;
    expect(focus?.id).toBe(t.id);
    expect((await getRegistryEntry(db, sub.id!))?.status).toBe('active');
  });

  it('when the receiver is down for a while, then everything arrives once it is up, in order per stay, none twice', async () => {
    const { db, receiver } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    receiver.status = () => 503;
    const repo = testRepos()(db, SYSTEM);
    const tasks: Task[] = [];
    for (let i = 0; i < 3; i++) tasks.push(await repo.create(task('vasteras', `stay-${i % 2}`)));
    // Several updates of the same Task (one stay): their order must hold.
    let t0 = tasks[0]!;
    for (const status of ['received', 'accepted', 'completed'] as const) t0 = await repo.update({ ...t0, status });
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.events()).toHaveLength(0);
    receiver.status = () => 200;
    await waitFor(() => receiver.events().length === 6, 15_000, 'all six notifications');
    const numbers = receiver.events().flatMap(eventNumbers);
    expect(new Set(numbers).size).toBe(6);
    const byStay = new Map<string, number[]>();
    for (const r of receiver.events()) {
      const t = r.json.entry?.[1]?.resource as unknown as Task;
      const stay = t.encounter?.reference ?? '';
      byStay.set(stay, [...(byStay.get(stay) ?? []), ...eventNumbers(r)]);
    }
    for (const seq of byStay.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
    const statuses = receiver
      .events()
      .map((r) => r.json.entry?.[1]?.resource as unknown as Task)
      .filter((t) => t.id === tasks[0]!.id)
      .map((t) => t.status);
    expect(statuses).toEqual(['requested', 'received', 'accepted', 'completed']);
  });

  it('when the Task is given to another municipality before delivery, then the first subscriber never receives it', async () => {
    const { db, receiver, service } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    receiver.status = () => 503;
    const repo = testRepos()(db, SYSTEM);
    const t = await repo.create(task('vasteras', 'stay-9'));
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM delivery_attempt WHERE status = 'failed'`)).rows.length > 0,
    );
    await repo.update({ ...t, owner: { reference: 'Organization/sala' } });
    const other = await repo.create(task('vasteras', 'stay-10'));
    receiver.status = () => 200;
    await waitFor(() => receiver.events().length === 1, 10_000, 'the other notification');
    await service.reconcileEvents();
    const ids = receiver.events().map((r) => (r.json.entry?.[1]?.resource as unknown as Task).id);
    expect(ids).toEqual([other.id]);
    // The first event is skipped when its retry comes round (its owner changed): wait for that attempt.
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM subscription_event WHERE status = 'skipped'`)).rows.length === 1,
      10_000,
      'the moved Task to be skipped',
    );
    expect(receiver.events().map((r) => (r.json.entry?.[1]?.resource as unknown as Task).id)).toEqual([other.id]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { Encounter, Resource, Subscription } from '@medplum/fhirtypes';
import type { ClosableDb } from '../../src/store/db.port';
import type { PreparedDelivery } from '../../src/delivery/delivery-batch';
import { handleOutboxBatch } from '../../src/delivery/outbox-consumer';
import { toOutboxEvent, type OutboxRow } from '../../src/delivery/outbox.types';
import { readAs } from '../../src/delivery/resource-access';
import { getEventsWithRegistry } from '../../src/subscriptions/events-batch.pg';
import type { EventRef } from '../../src/subscriptions/events.pg';
import { createSubscriptionMatcher } from '../../src/subscriptions/matcher';
import { createRegistryCache, upsertRegistry } from '../../src/subscriptions/registry.pg';
import { openTestDb, testDatabases } from '../support/db';
import { BASE, SALA, SYSTEM, task, testRepos, VASTERAS } from './fixture';

/**
 * Direct dispatch: the matcher hands each event it just recorded to this process's delivery with what that delivery
 * would otherwise read again (the event, the registry row, the focus as the subscriber may read it). What it hands
 * over must be what those reads give right after the commit, and it must hand over nothing it is not sure of.
 */
describe.each(testDatabases())('what the match hands to direct dispatch on %s', (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  const sub = (id: string, criteria: string): Subscription => ({
    resourceType: 'Subscription',
    id,
    status: 'active',
    reason: 'test',
    criteria,
    channel: { type: 'rest-hook', endpoint: `http://receiver.test/${id}`, payload: 'application/fhir+json' },
  });

  /** Runs the matcher over every outbox row not yet matched; returns what it passed to `enqueueEvents`. */
  async function setup(claimMs: number) {
    db = await openTestDb(kind);
    const calls: { refs: EventRef[]; prepared?: ReadonlyMap<string, PreparedDelivery> }[] = [];
    const cache = createRegistryCache(db, BASE, 60_000);
    const matcher = createSubscriptionMatcher({
      repos: testRepos(),
      subscriptions: cache,
      enqueueEvents: async (refs, prepared) => void calls.push({ refs, prepared }),
      enqueueHandshake: async () => undefined,
      claimMs: () => claimMs,
    });
    let after = 0;
    const match = async () => {
      const { rows } = await db!.query<OutboxRow>('SELECT * FROM outbox WHERE id > $1 ORDER BY id', [after]);
      after = Math.max(after, ...rows.map((r) => Number(r.id)));
      calls.length = 0;
      await handleOutboxBatch(db!, 'subscription-match', rows.map(toOutboxEvent), matcher.batch, true);
      return calls.flatMap((c) => c.refs.map((ref) => ({ ref, prepared: c.prepared?.get(refKey(ref)) })));
    };
    return { db, cache, match };
  }
  const refKey = (r: EventRef) => `ev-${r.subscriptionId}-${r.eventNumber}-${r.generation}`;

  it('when this process delivers what it records, then each event goes with exactly what its delivery would read after the commit', async () => {
    const { db, match } = await setup(60_000);
    await upsertRegistry(db, sub('s-vas', 'Task?owner=Organization/vasteras'), VASTERAS);
    await upsertRegistry(db, sub('s-sala', 'Task?owner=Organization/sala'), SALA);
    await upsertRegistry(db, sub('s-enc', 'Encounter?status=in-progress'), VASTERAS);
    const system = testRepos()(db, SYSTEM);
    await system.create(task('vasteras', 'stay-1'));
    await system.create(task('sala', 'stay-2'));
    await system.create(task('vasteras', 'stay-3'));
    // An Encounter the municipality may not read (no Task of its own points to it): matched, not visible, no event.
    await system.create<Encounter>({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' } });
    const got = await match();

    expect(got.map((g) => g.ref.subscriptionId).sort()).toEqual(['s-sala', 's-vas', 's-vas']);
    const fresh = await getEventsWithRegistry(
      db,
      got.map((g) => g.ref),
    );
    for (const [i, { ref, prepared }] of got.entries()) {
      expect(prepared, `${ref.subscriptionId} #${ref.eventNumber}`).toBeDefined();
      expect(prepared!.ev).toEqual(fresh[i]!.ev);
      expect(prepared!.reg).toEqual(fresh[i]!.reg);
      const scope = ref.subscriptionId === 's-sala' ? SALA : VASTERAS;
      const ev = fresh[i]!.ev!;
      expect(prepared!.current).toEqual(await readAs<Resource>(testRepos(), db, scope, 'Task', ev.focusId));
      expect((prepared!.current as { owner?: { reference?: string } }).owner?.reference).toBe(scope.organization);
    }
    // The counter as the registry has it now (two events for s-vas).
    expect(
      got.find((g) => g.ref.subscriptionId === 's-vas' && g.ref.eventNumber === 2)?.prepared?.reg?.eventsSinceStart,
    ).toBe(2);
  });

  it('when the Subscription changed after the matcher cached it, or nobody delivers at once, then nothing is handed over', async () => {
    const { db, cache, match } = await setup(60_000);
    const vas = sub('s-vas', 'Task?owner=Organization/vasteras');
    await upsertRegistry(db, vas, VASTERAS);
    const system = testRepos()(db, SYSTEM);
    await system.create(task('vasteras', 'stay-1'));
    expect((await match())[0]?.prepared).toBeDefined(); // the cache is loaded now
    await new Promise((r) => setTimeout(r, 5));
    await upsertRegistry(db, { ...vas, channel: { ...vas.channel, endpoint: 'http://elsewhere.test/' } }, VASTERAS);
    await system.create(task('vasteras', 'stay-2'));
    const stale = await match();
    expect(stale).toHaveLength(1); // still recorded, delivered after reading the registry row again
    expect(stale[0]!.prepared).toBeUndefined();
    cache.invalidate();
    await db.close();

    const other = await setup(0);
    await upsertRegistry(other.db, vas, VASTERAS);
    await testRepos()(other.db, SYSTEM).create(task('vasteras', 'stay-3'));
    const queued = await other.match();
    expect(queued).toHaveLength(1);
    expect(queued[0]!.prepared).toBeUndefined();
  });
});

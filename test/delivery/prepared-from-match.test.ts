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
const sub = (id: string, criteria: string): Subscription => ({
  resourceType: 'Subscription',
  id,
  status: 'active',
  reason: 'test',
  criteria,
  channel: { type: 'rest-hook', endpoint: `http://receiver.test/${id}`, payload: 'application/fhir+json' },
});

const paths = testDatabases().flatMap((kind) => [[kind, 'transaction'] as const, [kind, 'one statement'] as const]);

describe.each(paths)('what the match hands to direct dispatch on %s (%s)', (kind, path) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
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
      const events = rows.map(toOutboxEvent);
      if (path === 'transaction') await handleOutboxBatch(db!, 'subscription-match', events, matcher.batch, true);
      else await matcher.inline(db!, 'subscription-match', events, true);
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

/**
 * The relay's inline matcher claims the rows and records their events in one statement (`svu_claim_and_record`). It
 * must keep what the transaction guarantees: every row marked once and dispatched, outbox order per stay, and
 * nothing matched twice.
 */
describe.each(testDatabases())("the matcher's one-statement pass on %s", (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  async function setup() {
    db = await openTestDb(kind);
    const queued: EventRef[] = [];
    const matcher = createSubscriptionMatcher({
      repos: testRepos(),
      subscriptions: createRegistryCache(db, BASE, 0),
      enqueueEvents: async (refs) => void queued.push(...refs),
      enqueueHandshake: async () => undefined,
      claimMs: () => 60_000,
    });
    const rows = async (where = 'true') =>
      (await db!.query<OutboxRow>(`SELECT * FROM outbox WHERE ${where} ORDER BY id`)).rows.map(toOutboxEvent);
    const events = async () =>
      (
        await db!.query<{ outbox_id: string; event_number: string; status: string }>(
          'SELECT outbox_id, event_number, status FROM subscription_event ORDER BY event_number',
        )
      ).rows.map((r) => [Number(r.outbox_id), Number(r.event_number), r.status]);
    return { db, matcher, queued, rows, events };
  }

  it('when rows are handled, then each is marked once and dispatched, and handling them again records nothing', async () => {
    const { db, matcher, rows, events, queued } = await setup();
    await upsertRegistry(db, sub('s-vas', 'Task?owner=Organization/vasteras'), VASTERAS);
    const system = testRepos()(db, SYSTEM);
    await system.create(task('vasteras', 'stay-a'));
    await system.create(task('vasteras', 'stay-b'));
    const all = await rows();
    await matcher.inline(db, 'subscription-match', all, true);
    const ids = all.map((e) => e.outboxId);
    expect(await events()).toEqual([
      [ids[0], 1, 'queued'],
      [ids[1], 2, 'queued'],
    ]);
    expect(queued).toHaveLength(2);
    const { rows: state } = await db.query<{ n: number; d: number }>(
      `SELECT (SELECT count(*)::int FROM outbox_processed WHERE consumer = 'subscription-match') AS n,
              (SELECT count(*)::int FROM outbox WHERE dispatched_at IS NULL) AS d`,
    );
    expect(state[0]).toEqual({ n: 2, d: 0 });
    await matcher.inline(db, 'subscription-match', all, true); // a job that runs twice
    expect(await events()).toHaveLength(2);
    expect(queued).toHaveLength(2);
  });

  it('when an earlier row of the same stay is still unprocessed, then both are handled in outbox order (by the transaction)', async () => {
    const { db, matcher, rows, events } = await setup();
    await upsertRegistry(db, sub('s-vas', 'Task?owner=Organization/vasteras'), VASTERAS);
    const system = testRepos()(db, SYSTEM);
    const t = await system.create(task('vasteras', 'stay-a'));
    await system.update({ ...t, status: 'received' });
    const [first, second] = await rows();
    await matcher.inline(db, 'subscription-match', [second!], true);
    // The later row alone would have been numbered 1: the claim brought the earlier one, so both went the long way.
    expect(await events()).toEqual([
      [first!.outboxId, 1, 'queued'],
      [second!.outboxId, 2, 'waiting'],
    ]);
  });

  it('when a Subscription changes among the rows, then the registry follows it before the others are matched', async () => {
    const { db, matcher, rows, events } = await setup();
    const system = testRepos()(db, SYSTEM);
    await system.create(task('vasteras', 'stay-a'));
    const s = await testRepos()(db, VASTERAS).create<Subscription>(sub('s-new', 'Task?owner=Organization/vasteras'), {
      author: VASTERAS.clientId,
      authorOrganization: VASTERAS.organization,
    });
    await db.query(`UPDATE subscription_registry SET status = 'active' WHERE id = $1`, [s.id]);
    await system.create(task('vasteras', 'stay-b'));
    const all = await rows();
    await matcher.inline(db, 'subscription-match', all, true);
    // The Task before the Subscription in outbox order is matched too: the batch matches after the registry change.
    expect((await events()).map((e) => e[0])).toEqual([all[0]!.outboxId, all[2]!.outboxId]);
  });
});

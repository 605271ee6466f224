import type { Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepositoryFactory } from '../../src/delivery/resource-access';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { setSubscriptionStatus } from '../../src/subscriptions/subscription-status';
import { openTestDb, testDatabases } from '../support/db';

const subscription = (endpoint: string): Subscription => ({
  resourceType: 'Subscription',
  status: 'active',
  reason: 'Inskrivningsmeddelanden',
  criteria: 'Task?owner=Organization/kommun-1980',
  channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
});

describe.each(testDatabases())('the delivery setting a Subscription status on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  it('when the client changes its Subscription between the read and the write, then its change is kept and the status set on top', async () => {
    const repo = createRepository(db);
    const sub = await repo.create(subscription('https://old.kommun.example/fhir'));
    let edited = false;
    // the repositories the status change uses: its first write finds the client's new endpoint stored meanwhile
    const repos: RepositoryFactory = (d, scope) => {
      const r = createRepository(d, scope);
      return Object.assign(Object.create(r) as typeof r, {
        async update<T extends Subscription>(next: T, opts?: Parameters<typeof r.update>[1]) {
          if (!edited) {
            edited = true;
            const now = await repo.read<Subscription>('Subscription', sub.id!);
            await repo.update({ ...now, channel: { ...now.channel, endpoint: 'https://new.kommun.example/fhir' } });
          }
          return r.update(next, opts);
        },
      });
    };
    await setSubscriptionStatus(db, repos, sub.id!, 'error', 'HTTP 503 from the endpoint');
    const stored = await repo.read<Subscription>('Subscription', sub.id!);
    expect(edited).toBe(true);
    expect(stored.channel.endpoint).toBe('https://new.kommun.example/fhir');
    expect(stored.status).toBe('error');
    expect(stored.error).toBe('HTTP 503 from the endpoint');
    const registry = await db.query<{ status: string }>('SELECT status FROM subscription_registry WHERE id = $1', [
      sub.id,
    ]);
    expect(registry.rows[0]?.status).toBe('error');
  });
});

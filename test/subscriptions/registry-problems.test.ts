import type { Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRegistryCache, upsertRegistry } from '../../src/subscriptions/registry.pg';
import { openTestDb, testDatabases } from '../support/db';

const BASE = 'https://svu-gateway.dev/fhir';
const scope = { clientId: 'demo-vasteras', organization: 'Organization/kommun-1980' };
const sub = (id: string, criteria: string): Subscription => ({
  resourceType: 'Subscription',
  id,
  status: 'active',
  reason: 'registry problems',
  criteria,
  channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' },
});

describe.each(testDatabases())('stored Subscriptions the matcher cannot use on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  it('when a stored Subscription cannot be parsed or can never match, then it is reported once per version, and the good one is matched', async () => {
    await upsertRegistry(db, sub('good', 'Task?owner=Organization/kommun-1980'), scope);
    await upsertRegistry(db, sub('never', 'Task?owner=Organization/kommun-1980&nosuch=1'), scope);
    await upsertRegistry(db, sub('unparsable', 'https://example.org/SubscriptionTopic/unknown'), scope);
    const problems: [string, string][] = [];
    const cache = createRegistryCache(db, BASE, 0, (id, problem) => problems.push([id, problem]));
    const first = await cache.get();
    expect(first.map((s) => s.entry.id).sort()).toEqual(['good', 'never']);
    expect(problems.map(([id]) => id).sort()).toEqual(['never', 'unparsable']);
    expect(problems.find(([id]) => id === 'never')?.[1]).toMatch(/'nosuch' is not a search parameter of Task/);
    expect(problems.find(([id]) => id === 'unparsable')?.[1]).toMatch(/Unknown subscription topic/);
    await cache.get();
    expect(problems).toHaveLength(2); // the same versions are not reported again
  });
});

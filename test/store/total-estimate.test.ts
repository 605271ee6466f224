import type { Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import type { ClosableDb, Db } from '../../src/store/db.port';
import { estimatedTotal, sampledCount } from '../../src/store/read-sql';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository, SearchParams } from '../../src/store/repository.port';
import { planSearch } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from './fixtures';

/**
 * `_total=estimate` costs little on a large store (issue 17): the last page tells the total itself, otherwise the
 * matches among a sample of the store's pages are scaled up. The sample is checked by the search's own conditions and
 * the same tenant and protected-identity rules: a count never reveals what the search would hide.
 */
describe.each(testDatabases())('_total=estimate on %s', (kind) => {
  let db: ClosableDb;
  const statements: string[] = [];
  /** The store as the repository sees it, every statement's text recorded. */
  let spied: Db;
  const scopes: Record<string, AccessScope | undefined> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    spied = new Proxy(db, {
      get(target, key, receiver) {
        if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
        return (sql: string, values?: unknown[]) => {
          statements.push(sql);
          return target.query(sql, values);
        };
      },
    });
    const system = createRepository(db);
    const v = await system.create(municipality('1980', 'Västerås stad'));
    const s = await system.create(municipality('1981', 'Sala kommun'));
    const as = (organization: string, role: AccessScope['role']): AccessScope => ({
      clientId: `c-${organization}`,
      organization,
      role,
    });
    Object.assign(scopes, {
      admin: undefined,
      vasteras: as(`Organization/${v.id}`, 'municipality'),
      sala: as(`Organization/${s.id}`, 'municipality'),
      hospital: as('Organization/hosp', 'hospital'),
      otherHospital: as('Organization/other-hosp', 'hospital'),
    });
    const hospital = createRepository(db, scopes.hospital);
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    for (let i = 0; i < 6; i++) {
      const shielded: Patient = {
        ...patient(`19400101${String(1000 + i)}`),
        ...(i % 2 === 0
          ? { meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] } }
          : {}),
        address: [{ city: 'Västerås' }],
      };
      const p = await hospital.create(shielded, w);
      const e = await hospital.create(encounter(`E${i}`, `Patient/${p.id}`), w);
      // Västerås owns the Tasks of four stays, Sala those of two
      const owner = i < 4 ? v.id : s.id;
      for (const code of ['inskrivningsmeddelande', 'utskrivningsklar'])
        await system.create(task(code, `Organization/${owner}`, `Patient/${p.id}`, `Encounter/${e.id}`));
    }
    await db.query('ANALYZE fhir_resource');
  });
  afterAll(async () => db.close());

  const searches: [Resource['resourceType'], SearchParams][] = [
    ['Task', {}],
    ['Task', { status: 'requested' }],
    ['Encounter', {}],
    ['Patient', {}],
    // a recipient may not search a protected identity's address: it matches none of those Patients
    ['Patient', { 'address-city': 'Västerås' }],
  ];

  it('when the whole store is sampled, then each party counts what its search finds, by the same rules', async () => {
    for (const [party, scope] of Object.entries(scopes))
      for (const [type, params] of searches) {
        const repo = createRepository(db, scope);
        const found = await repo.search(type, { ...params, _count: '1000', _total: 'accurate' });
        const sampled = await sampledCount(db, scope, type, params, 100);
        expect({ party, type, params, n: sampled }).toEqual({ party, type, params, n: found.resources.length });
        expect(found.total).toBe(found.resources.length);
      }
    // the rules do hide something here
    const vasteras = createRepository(db, scopes.vasteras);
    expect((await vasteras.search('Patient', { _total: 'accurate' })).total).toBe(4);
    expect((await vasteras.search('Patient', { 'address-city': 'Västerås', _total: 'accurate' })).total).toBe(2);
    expect(await sampledCount(db, scopes.otherHospital, 'Encounter', {}, 100)).toBe(0);
  });

  it('when the page is the last, then the estimate is its exact total, counted by no statement', async () => {
    const repo: FhirRepository = createRepository(spied, scopes.vasteras);
    statements.length = 0;
    const r = await repo.search('Task', { _total: 'estimate', _count: '100' });
    expect(r.total).toBe(8);
    expect(statements.filter((sql) => sql.startsWith('SELECT count(*)'))).toEqual([]);
    const last = await repo.search('Task', { _total: 'estimate', _count: '3', _offset: '6' });
    expect(last.resources).toHaveLength(2);
    expect(last.total).toBe(8);
    // a page past the end: at most the offset, here counted
    expect((await repo.search('Task', { _total: 'estimate', _offset: '100' })).total).toBe(8);
    expect((await repo.search('Task', { _total: 'estimate', _summary: 'count' })).total).toBe(8);
  });

  it('when a store is larger than the sample, then the estimate counts a sample and no fewer than the page found', async () => {
    const plan = planSearch('Task', { status: 'requested' }, scopes.sala);
    statements.length = 0;
    // a sample of one row's worth of pages: the statement samples, and the answer is at least what is known
    const n = await estimatedTotal(spied, scopes.sala, 'Task', { status: 'requested' }, plan, 3, 1);
    expect(n).toBeGreaterThanOrEqual(3);
    const counts = statements.filter((sql) => sql.startsWith('SELECT count(*)'));
    expect(counts).toHaveLength(1);
    expect(counts[0]).toContain('TABLESAMPLE SYSTEM');
    // a store no larger than the sample is counted exactly
    expect(await estimatedTotal(db, scopes.sala, 'Task', { status: 'requested' }, plan, 0)).toBe(4);
  });
});

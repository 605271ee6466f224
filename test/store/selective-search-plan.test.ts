import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../../src/store/repository.port';
import { isSelective } from '../../src/store/search-conditions';
import { planSearch } from '../../src/store/search-sql';
import { recordingDb } from '../support/recording-db';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A tenant's selective search (`Encounter?identifier=`, `Task?encounter=`) must check its tenant rules on the few
 * rows it finds, not build the set of every Task the tenant owns: on a store of 20 000 stays a municipality's
 * `Encounter?identifier=` of a stay it may not see took 1.1 s a call once the named statement ran its generic plan,
 * and `Task?encounter=` 0.2 s with any plan (bench/search-large.bench.ts, docs/performance.md). Here the tenant owns
 * 2 000 Tasks; a plan that reads them all shows a step with 2 000 rows.
 */
describe.each(testDatabases())('a selective search by a tenant on %s', (kind) => {
  let db: ClosableDb;
  const SYSTEM = 'urn:test:visit';
  const MUNI = 'kommun-1';
  const scope: AccessScope = { role: 'municipality', clientId: 'muni', organization: `Organization/${MUNI}` };

  const resource = (type: string, id: string, writer: string) =>
    db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content, writer_orgs)
       VALUES ($1, $2, 1, now(), 'POST', json_build_object('resourceType', $1::text, 'id', $2::text)::text, ARRAY[$3::text])`,
      [type, id, writer],
    );
  const index = (type: string, id: string, param: string, system: string | null, value: string) =>
    db.query(`INSERT INTO fhir_search (resource_type, resource_id, param, system, value) VALUES ($1, $2, $3, $4, $5)`, [
      type,
      id,
      param,
      system,
      value,
    ]);

  beforeAll(async () => {
    db = await openTestDb(kind);
    // two stays of a hospital: the municipality owns a Task of the second only
    for (const id of ['e1', 'e2']) {
      await resource('Encounter', id, 'Organization/hospital');
      await index('Encounter', id, 'identifier', SYSTEM, `visit-${id}`);
    }
    await resource('Task', 't-e2', 'Organization/hospital');
    await index('Task', 't-e2', 'encounter', 'Encounter', 'e2');
    await index('Task', 't-e2', 'owner', 'Organization', MUNI);
    await index('Task', 't-e2', 'status', null, 'requested');
    // and 2 000 requested Tasks of other stays, each pointing to its stay
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'Task', 'other-' || g, p, CASE p WHEN 'owner' THEN 'Organization' WHEN 'encounter' THEN 'Encounter' END,
              CASE p WHEN 'owner' THEN $1 WHEN 'encounter' THEN 'elsewhere-' || g ELSE 'requested' END
         FROM generate_series(1, 2000) g, unnest(ARRAY['owner', 'encounter', 'status']) p`,
      [MUNI],
    );
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
  });
  afterAll(async () => db.close());

  /** The search through the store, and the plan of its statement (prepared, made for any values or for these). */
  const search = async (type: 'Encounter' | 'Task', params: SearchParams, generic: boolean, as = scope) => {
    const recording = recordingDb(db);
    const found = await createRepository(recording.db, as).search(type, params);
    const { sql, values } = recording.last();
    const literal = (v: unknown): string =>
      Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]::text[]` : `'${String(v).replace(/'/g, "''")}'`;
    return db.transaction(async (tx) => {
      await tx.query(`SET LOCAL plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
      await tx.query(`PREPARE selective_search AS ${sql}`);
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) EXECUTE selective_search(${values.map(literal).join(', ')})`,
      );
      await tx.query('DEALLOCATE selective_search');
      return { ids: found.resources.map((r) => r.id), plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
    });
  };
  /** The largest number of rows any step of the plan produced (in all its loops). */
  const mostRows = (plan: string) =>
    Math.max(
      0,
      ...[...plan.matchAll(/actual rows=(\d+(?:\.\d+)?) loops=(\d+)/g)].map((m) => Number(m[1]) * Number(m[2])),
    );

  for (const generic of [false, true])
    describe(
      generic ? 'with the plan for any values (a named statement after five calls)' : 'with a plan for its values',
      () => {
        it('when a municipality looks up a stay it may not see, then nothing is found and its Tasks are not read', async () => {
          const r = await search('Encounter', { identifier: `${SYSTEM}|visit-e1` }, generic);
          expect(r.ids).toEqual([]);
          expect(mostRows(r.plan), r.plan).toBeLessThan(100);
        });

        it('when it looks up a stay it may see, then it is found the same way', async () => {
          const r = await search('Encounter', { identifier: `${SYSTEM}|visit-e2` }, generic);
          expect(r.ids).toEqual(['e2']);
          expect(mostRows(r.plan), r.plan).toBeLessThan(100);
        });

        it("when it searches a stay's Tasks, then its own are found and the others not read", async () => {
          const r = await search('Task', { encounter: 'Encounter/e2' }, generic);
          expect(r.ids).toEqual(['t-e2']);
          expect(mostRows(r.plan), r.plan).toBeLessThan(100);
          const none = await search('Task', { encounter: 'Encounter/e1' }, generic);
          expect(none.ids).toEqual([]);
        });

        it("when an admin searches a stay's requested Tasks, then the status is checked on the stay's Tasks only", async () => {
          const admin: AccessScope = { role: 'admin', clientId: 'admin' };
          const r = await search('Task', { encounter: 'Encounter/e2', status: 'requested' }, generic, admin);
          expect(r.ids).toEqual(['t-e2']);
          expect(mostRows(r.plan), r.plan).toBeLessThan(100);
          const other = await search(
            'Task',
            { encounter: 'Encounter/elsewhere-7', 'status:not': 'requested' },
            generic,
            admin,
          );
          expect(other.ids).toEqual([]);
          const missing = await search('Task', { encounter: 'Encounter/e2', 'status:missing': 'true' }, generic, admin);
          expect(missing.ids).toEqual([]);
        });
      },
    );
});

describe('the shape of a selective search', () => {
  it('when a search has a selective parameter, then it reads those ids first and checks the other parameters and the tenant rules per row', () => {
    const scope: AccessScope = { role: 'municipality', organization: 'Organization/kommun-1' };
    const { where } = planSearch('Task', { encounter: 'Encounter/e2', status: 'requested', 'code:not': 'x' }, scope);
    expect(where).toContain('r.id = ANY(ARRAY(SELECT s.resource_id FROM fhir_search s');
    // the status and the negated code by the Task's own index rows, never as a set of every requested Task
    expect(
      where.match(/EXISTS \(SELECT 1 FROM fhir_search s WHERE [^()]*s\.resource_id = r\.id OFFSET 0\)/g),
    ).toHaveLength(2);
    expect(where).toMatch(/NOT EXISTS \(SELECT 1 FROM fhir_search s WHERE/);
    expect(where).not.toMatch(/r\.id (NOT )?IN \(/);
    expect(where).toContain('OFFSET 0))'); // the tenant rule per row (access-sql.ts, PER_ROW)
  });

  it('when no parameter is selective (an owner and a status), then the search is planned as before', () => {
    const { where } = planSearch('Task', { owner: 'Organization/kommun-1', status: 'requested' }, undefined);
    expect(where).not.toContain('ARRAY(');
    expect(where).not.toContain('EXISTS');
    expect(where.match(/r\.id IN \(SELECT s\.resource_id/g)).toHaveLength(2);
  });
});

describe('which parameters are selective', () => {
  it.each([
    ['Patient', 'identifier', 'urn:oid:1.2.752.129.2.1.3.1|191212121212', true],
    ['Patient', 'identifier', '191212121212', true],
    ['Patient', 'identifier', 'urn:oid:1.2.752.129.2.1.3.1|', false],
    ['Patient', '_id', 'a,b', true],
    ['Task', 'encounter', 'Encounter/e1', true],
    ['Task', 'patient', 'p1', true],
    ['Task', 'owner', 'Organization/kommun-1', false],
    ['Task', 'status', 'requested', false],
    ['Task', 'encounter:missing', 'false', false],
  ])('%s?%s=%s: %s', (type, key, value, expected) => {
    expect(isSelective(type, key, value)).toBe(expected);
  });
});

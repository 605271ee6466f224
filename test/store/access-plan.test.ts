import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessPredicate, SqlParams } from '../../src/store/access-sql';
import { planAsGeneric, type ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

/**
 * The per-row tenant check (`perRow`) of a read of a few known Tasks must look the Tasks up by their own ids, not
 * read every Task the organisation owns: PostgreSQL turned the correlated EXISTS into a hashed subplan over all of
 * the organisation's `owner` rows (delivery bench, 2026-12-05), a cost that grows with the store.
 */
describe.each(testDatabases())('the per-row tenant check on %s', (kind) => {
  let db: ClosableDb;
  const ORG = 'org-busy';

  beforeAll(async () => {
    db = await openTestDb(kind);
    // 2 000 Tasks owned by one municipality (index rows only: the check reads nothing else), 2 of them stored
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'Task', 't' || g, p, CASE WHEN p = 'owner' THEN 'Organization' END,
              CASE WHEN p = 'owner' THEN $1 ELSE 'requested' END
       FROM generate_series(1, 2000) g CROSS JOIN unnest(ARRAY['owner', 'status']) p`,
      [ORG],
    );
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
       SELECT 'Task', 't' || g, 1, now(), 'POST', '{"resourceType":"Task"}' FROM generate_series(1, 2) g`,
    );
  });
  afterAll(async () => db.close());

  const plan = async (type = 'Task', wanted = ['t1', 't2']) => {
    const params = new SqlParams();
    const ids = params.add(wanted);
    const visible = accessPredicate(
      { clientId: 'c', organization: `Organization/${ORG}`, role: 'municipality' },
      'r',
      params,
      type,
      { perRow: true },
    );
    const sql = `SELECT r.id FROM fhir_resource r WHERE r.resource_type = '${type}' AND r.id = ANY(${planAsGeneric(ids, 'text[]')}) AND ${visible}`;
    const rows = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params.values)).rows;
    const found = (await db.query<{ id: string }>(`${sql} ORDER BY r.id`, params.values)).rows.map((r) => r.id);
    return { text: rows.map((r) => r['QUERY PLAN']).join('\n'), found };
  };

  it('when a municipality reads two of its 2 000 Tasks, then each is checked through its own index rows, not a hash of all its Tasks', async () => {
    const p = await plan();
    expect(p.found).toEqual(['t1', 't2']);
    expect(p.text).not.toMatch(/hashed SubPlan/);
    expect(p.text).toMatch(/fhir_search_resource/);
    expect(p.text).not.toMatch(/Index Cond: .*param = 'owner'/);
  });

  it('when a municipality reads two of the 2 000 SIP CarePlans it authors, then each is checked through its own index rows', async () => {
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'CarePlan', 'cp' || g, p, CASE WHEN p = 'author' THEN 'Organization' ELSE 'Encounter' END,
              CASE WHEN p = 'author' THEN $1 ELSE 'e' || g END
       FROM generate_series(1, 2000) g CROSS JOIN unnest(ARRAY['author', 'encounter']) p`,
      [ORG],
    );
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
       SELECT 'CarePlan', 'cp' || g, 1, now(), 'POST', '{"resourceType":"CarePlan"}' FROM generate_series(1, 2) g`,
    );
    const p = await plan('CarePlan', ['cp1', 'cp2']);
    expect(p.found).toEqual(['cp1', 'cp2']);
    expect(p.text).not.toMatch(/hashed SubPlan/);
    expect(p.text).not.toMatch(/Index Cond: .*param = 'author'/);
  });

  it('when the statistics are fresh, then the plan is the same', async () => {
    await db.query('ANALYZE fhir_search');
    await db.query('ANALYZE fhir_resource');
    const p = await plan();
    expect(p.found).toEqual(['t1', 't2']);
    expect(p.text).not.toMatch(/hashed SubPlan/);
    expect(p.text).toMatch(/fhir_search_resource/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { planSearch } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A conditional write's match (`Patient?identifier=…` in every admission Bundle) must find its row through the
 * search index when the statistics are older than the store: as a semi-join, the plan read every current Patient
 * and looked each one up in the index (1 831 Patients per admission in the `api` bench, 2026-12-05, growing with
 * the store). Rows of a realistic size (≈ 600 bytes): with statistics that say the table is one page, PostgreSQL
 * reads that page whatever the statement says.
 */
describe.each(testDatabases())('a conditional match on %s', (kind) => {
  let db: ClosableDb;
  const SYSTEM = 'http://electronichealth.se/identifier/personnummer';

  const patients = (from: number, to: number) =>
    Promise.all([
      db.query(
        `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
         SELECT 'Patient', 'p' || g, 1, now(), 'POST', json_build_object('resourceType', 'Patient', 'text', repeat('x', 600))::text FROM generate_series($1::int, $2::int) g`,
        [from, to],
      ),
      db.query(
        `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
         SELECT 'Patient', 'p' || g, 'identifier', $1, '19' || lpad(g::text, 10, '0') FROM generate_series($2::int, $3::int) g`,
        [SYSTEM, from, to],
      ),
    ]);

  beforeAll(async () => {
    db = await openTestDb(kind);
    // Statistics taken while the store held 5 Patients (an ANALYZE of a young store), then 2 000 more admitted.
    await patients(1, 5);
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
    await patients(6, 2005);
  });
  afterAll(async () => db.close());

  const explain = async (personnummer: string) => {
    const plan = planSearch('Patient', { identifier: `${SYSTEM}|${personnummer}` }, undefined, undefined, {
      perRow: true,
    });
    const sql = `SELECT r.id FROM fhir_resource r WHERE ${plan.where} LIMIT 2`;
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) ${sql}`,
      plan.params.values,
    );
    const found = await db.query<{ id: string }>(sql, plan.params.values);
    return { plan: rows.map((r) => r['QUERY PLAN']).join('\n'), found: found.rows.map((r) => r.id) };
  };
  /** No scan or join step over fhir_resource that met more than one row. */
  const readsOneRow = (plan: string) =>
    plan
      .split('\n')
      .filter((l) => / on fhir_resource r\b/.test(l))
      .every((l) => /actual rows=1(?:\.00)? /.test(l));

  it('when the statistics are older than the store, then the Patient is read by the ids the index gives, not by scanning every Patient', async () => {
    const p = await explain('190000001234');
    expect(p.found).toEqual(['p1234']);
    expect(p.plan).toMatch(/InitPlan/);
    expect(readsOneRow(p.plan), p.plan).toBe(true);
    expect(p.plan).not.toMatch(/Rows Removed by (?:Join )?Filter: \d{3,}/);
  });

  it('when the statistics are fresh, then the same', async () => {
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
    const p = await explain('190000000007');
    expect(p.found).toEqual(['p7']);
    expect(readsOneRow(p.plan), p.plan).toBe(true);
  });
});

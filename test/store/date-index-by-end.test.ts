import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../../src/store/repository.port';
import { recordingDb } from '../support/recording-db';
import { openTestDb, testDatabases } from '../support/db';

/**
 * `fhir_search_date` holds only rows with a range (WHERE lo IS NOT NULL): a date compared by its end alone (`gt`,
 * `ge`, `eb`, `ne`) must say so to be found through it, not by reading every index row of the type. Here 2 000
 * Tasks, 3 of them with a deadline after 2030.
 */
describe.each(testDatabases())('a date compared by its end is found through the date index on %s', (kind) => {
  let db: ClosableDb;
  const admin: AccessScope = { role: 'admin', clientId: 'admin' };
  const RARE = ['task-7', 'task-700', 'task-1400'];

  beforeAll(async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
       SELECT 'Task', 'task-' || g, 1, now(), 'POST', json_build_object('resourceType', 'Task', 'id', 'task-' || g)::text
         FROM generate_series(1, 2000) g`,
    );
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value, lo, hi)
       SELECT 'Task', 'task-' || g, 'status', NULL, 'requested', NULL::timestamptz, NULL::timestamptz FROM generate_series(1, 2000) g
       UNION ALL
       SELECT 'Task', 'task-' || g, 'identifier', CASE WHEN 'task-' || g = ANY($1) THEN 'urn:rare' ELSE 'urn:common' END,
              'id-' || g, NULL, NULL FROM generate_series(1, 2000) g
       UNION ALL
       SELECT 'Task', 'task-' || g, 'deadline', NULL, NULL, d, d + interval '1 second'
         FROM generate_series(1, 2000) g,
              LATERAL (SELECT CASE WHEN 'task-' || g = ANY($1) THEN timestamptz '2031-01-01' ELSE timestamptz '2026-01-01' END AS d) x
       UNION ALL
       SELECT 'Task', id, 'priority', NULL, 'urgent', NULL, NULL FROM unnest($1::text[]) id`,
      [RARE],
    );
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
  });
  afterAll(async () => db.close());

  /** The search through the store, and the plan of its statement for these values with sequential scans off. */
  const search = async (params: SearchParams) => {
    const recording = recordingDb(db);
    const found = await createRepository(recording.db, admin).search('Task', params);
    const { sql, values } = recording.last();
    const literal = (v: unknown): string =>
      Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]::text[]` : `'${String(v).replace(/'/g, "''")}'`;
    return db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      await tx.query(`PREPARE partial_search AS ${sql}`);
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) EXECUTE partial_search(${values.map(literal).join(', ')})`,
      );
      await tx.query('DEALLOCATE partial_search');
      return { ids: found.resources.map((r) => r.id).sort(), plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
    });
  };
  /** The most index rows any step read: its rows and those its filter removed, in all its loops. */
  const mostRead = (plan: string) =>
    Math.max(
      0,
      ...plan.split('\n').map((line, i, lines) => {
        const m = /actual rows=(\d+(?:\.\d+)?) loops=(\d+)/.exec(line);
        if (!m) return 0;
        const removed = /Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(lines.slice(i + 1, i + 4).join('\n'));
        return (Number(m[1]) + Number(removed?.[1] ?? 0)) * Number(m[2]);
      }),
    );

  const sorted = [...RARE].sort();
  it.each<[string, SearchParams, string, number]>([
    ['a date compared by its end (gt)', { deadline: 'gt2030-06-01' }, 'fhir_search_date', 100],
    ['a date compared by its end (ge)', { deadline: 'ge2030-06-01' }, 'fhir_search_date', 100],
  ])('when a search names %s, then its Tasks are found through the date index', async (_, params, index, most) => {
    const r = await search(params);
    expect(r.ids).toEqual(sorted);
    expect(r.plan).toContain(index);
    expect(mostRead(r.plan), r.plan).toBeLessThan(most);
  });

  it('when a date parameter is asked for as missing, then the Tasks without one are found', async () => {
    const r = await search({ 'deadline:missing': 'true' });
    expect(r.ids).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../../src/store/repository.port';
import { recordingDb } from '../support/recording-db';
import { openTestDb, testDatabases } from '../support/db';

/**
 * `fhir_search_date` holds only rows with a range (WHERE lo IS NOT NULL), `fhir_search_value` only rows with a value
 * (WHERE value IS NOT NULL, migration 175): a date compared by its end alone (`gt`, `ge`, `eb`, `ne`), a `:missing`
 * and a token's `system|` must say so to be found through them, not by reading every index row of the type. Here
 * 2 000 Tasks, 3 of them with a deadline after 2030, an identifier of a rare system and a priority.
 */
describe.each(testDatabases())('a search without a value is found through its partial index on %s', (kind) => {
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
    ['a parameter as present (:missing=false)', { 'priority:missing': 'false' }, 'fhir_search_value', 100],
    // the identifier rows of the type, not every index row of it
    ['an identifier system alone (system|)', { identifier: 'urn:rare|' }, 'fhir_search_value', 2500],
  ])('when a search names %s, then its Tasks are found through its partial index', async (_, params, index, most) => {
    const r = await search(params);
    expect(r.ids).toEqual(sorted);
    expect(r.plan).toContain(index);
    expect(mostRead(r.plan), r.plan).toBeLessThan(most);
  });

  it('when a date parameter is asked for as missing, then the Tasks without one are found', async () => {
    const r = await search({ 'deadline:missing': 'true' });
    expect(r.ids).toEqual([]);
  });

  it('when a token parameter is asked for as missing, then the Tasks without one are found', async () => {
    const r = await search({ 'priority:missing': 'true', _count: '1000' });
    expect(r.ids).toHaveLength(1000);
    expect(r.ids.filter((id) => RARE.includes(id))).toEqual([]);
  });

  it('when the date rows are written, then the value index holds none of them', async () => {
    const { rows } = await db.query<{ entries: number }>(
      `SELECT count(*)::int AS entries FROM fhir_search WHERE value IS NULL`,
    );
    expect(rows[0]?.entries).toBe(2000);
    const pred = await db.query<{ pred: string | null }>(
      `SELECT pg_get_expr(indpred, indrelid) AS pred FROM pg_index WHERE indexrelid = 'fhir_search_value'::regclass`,
    );
    expect(pred.rows[0]?.pred).toMatch(/value IS NOT NULL/);
  });
});

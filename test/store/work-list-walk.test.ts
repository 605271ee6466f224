import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb, Db, QueryResult } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../../src/store/repository.port';
import { planSearch, WALK_ROWS } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A municipality's work list (`Task?owner=<itself>&status=requested`, or its Tasks without parameters) on a store
 * where its Tasks are many: collecting every match and sorting took a second at 360 000 Tasks (docs/performance.md,
 * "The work list on a large store"), so the page is found by walking the Tasks in `_lastUpdated` order and checking
 * each. Here 3 000 Tasks: Västerås owns every third (requested, but every tenth of them completed), Sala five; the
 * answers must be those of the definition (every match, in order, then paged), whichever way they were found.
 */
describe.each(testDatabases())('the work list found by a walk in _lastUpdated order, on %s', (kind) => {
  let db: ClosableDb;
  const N = 3000;
  const VASTERAS = 'kommun-1980';
  const SALA = 'kommun-1981';
  const as = (org: string): AccessScope => ({
    role: 'municipality',
    clientId: org,
    organization: `Organization/${org}`,
  });
  const admin: AccessScope = { role: 'admin', clientId: 'admin' };
  /** Task i: its owner and status, as written below. */
  const owner = (i: number) => (i % 3 === 0 ? VASTERAS : i % 600 === 1 ? SALA : 'sjukhus');
  const status = (i: number) => (i % 30 === 0 ? 'completed' : 'requested');
  const id = (i: number) => `t${String(i).padStart(5, '0')}`;

  beforeAll(async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content, writer_orgs)
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 1, timestamptz '2026-01-01T00:00:00Z' + g * interval '1 minute', 'POST',
              json_build_object('resourceType', 'Task', 'id', 't' || lpad(g::text, 5, '0'))::text, ARRAY['Organization/sjukhus']
         FROM generate_series(1, $1::int) g`,
      [N],
    );
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'owner', 'Organization',
              CASE WHEN g % 3 = 0 THEN $2 WHEN g % 600 = 1 THEN $3 ELSE 'sjukhus' END
         FROM generate_series(1, $1::int) g
       UNION ALL
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'status', NULL, CASE WHEN g % 30 = 0 THEN 'completed' ELSE 'requested' END
         FROM generate_series(1, $1::int) g`,
      [N, VASTERAS, SALA],
    );
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
  });
  afterAll(async () => db.close());

  /** The search through the store, and the statements it sent. */
  const search = async (params: SearchParams, scope: AccessScope) => {
    const sent: string[] = [];
    const recording: Db = {
      kind: db.kind,
      query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
        sent.push(sql);
        return db.query<R>(sql, values);
      },
      transaction: (fn) => db.transaction(fn),
    };
    const found = await createRepository(recording, scope).search('Task', params);
    return { ids: found.resources.map((r) => r.id), next: found.next !== undefined, sent };
  };
  /** The definition: every Task 1..N that matches, oldest first (or newest), then the page. */
  const expected = (match: (i: number) => boolean, offset = 0, count = 20, desc = false) => {
    const all = Array.from({ length: N }, (_, k) => k + 1).filter(match);
    if (desc) all.reverse();
    return { ids: all.slice(offset, offset + count).map(id), next: all.length > offset + count };
  };
  const walked = (sent: string[]) => sent.some((sql) => sql.includes(`LIMIT ${WALK_ROWS}) r`));
  const collected = (sent: string[]) => sent.some((sql) => !sql.includes(`LIMIT ${WALK_ROWS}) r`));

  it("when a municipality lists its requested Tasks, then the page is found by the walk alone and is the definition's", async () => {
    const mine = (i: number) => owner(i) === VASTERAS && status(i) === 'requested';
    for (const scope of [as(VASTERAS), admin]) {
      const r = await search({ owner: `Organization/${VASTERAS}`, status: 'requested' }, scope);
      expect({ ids: r.ids, next: r.next }).toEqual(expected(mine));
      expect(walked(r.sent) && !collected(r.sent)).toBe(true);
    }
    // its Tasks without a parameter (the tenant rules alone), newest first, and a later page
    const own = await search({ _sort: '-_lastUpdated' }, as(VASTERAS));
    expect({ ids: own.ids, next: own.next }).toEqual(expected((i) => owner(i) === VASTERAS, 0, 20, true));
    const page = await search({ owner: `Organization/${VASTERAS}`, status: 'requested', _offset: '60' }, admin);
    expect({ ids: page.ids, next: page.next }).toEqual(expected(mine, 60));
    expect(walked(page.sent) && !collected(page.sent)).toBe(true);
  });

  it('when the matches are too few for the walk, then they are collected, with the same answer', async () => {
    const r = await search({ owner: `Organization/${SALA}`, status: 'requested' }, as(SALA));
    expect({ ids: r.ids, next: r.next }).toEqual(expected((i) => owner(i) === SALA));
    expect(r.ids).toHaveLength(5);
    expect(walked(r.sent) && collected(r.sent)).toBe(true);
    // Västerås's completed Tasks: one in ten of its own, so a page of 50 lies beyond the walk's first rows
    const done = await search({ owner: `Organization/${VASTERAS}`, status: 'completed', _count: '50' }, admin);
    expect({ ids: done.ids, next: done.next }).toEqual(
      expected((i) => owner(i) === VASTERAS && status(i) === 'completed', 0, 50),
    );
    expect(walked(done.sent) && collected(done.sent)).toBe(true);
    // the last page of the requested ones, past the walk's reach: collected
    const last = await search({ owner: `Organization/${VASTERAS}`, status: 'requested', _offset: '880' }, admin);
    expect({ ids: last.ids, next: last.next }).toEqual(
      expected((i) => owner(i) === VASTERAS && status(i) === 'requested', 880),
    );
    expect(walked(last.sent)).toBe(false);
  });

  it('when a search is sorted by something else or has a selective parameter, then it is not walked', () => {
    expect(planSearch('Task', { owner: 'Organization/x', _sort: 'status' }, admin).walkable).toBe(false);
    expect(planSearch('Task', { owner: 'Organization/x', encounter: 'Encounter/e1' }, admin).walkable).toBe(false);
    expect(planSearch('Task', { owner: 'Organization/x', 'encounter.status': 'finished' }, admin).walkable).toBe(false);
    expect(planSearch('Task', {}, admin).walkable).toBe(false); // nothing to check: the index order is the answer
    expect(planSearch('Task', { owner: 'Organization/x', _lastUpdated: 'gt2026-01-01' }, admin).walkable).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb, Db, QueryResult } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../../src/store/repository.port';
import { OWNER_STATUS } from '../../src/store/search-params';
import { planSearch, WALK_ROWS } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A municipality's work list (`Task?owner=<itself>&status=requested`, or its Tasks without parameters) on a store
 * where its Tasks are many: collecting every match and sorting took a second at 360 000 Tasks (docs/performance.md,
 * "The work list on a large store"), so the page is found by walking the Tasks in `_lastUpdated` order and checking
 * each. Where one condition (or the tenant's Tasks) is rare, the search is driven from it instead, chosen per call by a
 * capped count ("Many conditions, each matching many"). Here 3 600 Tasks: Västerås owns every third (requested, but
 * every tenth of them completed), Sala six, a hospital the rest; another hospital (a lasarett) requested nine and a
 * vårdcentral wrote and requested eight (as a SIP's author its invitations), owning none. The answers must be those of the definition (every match, in order, then
 * paged, and `_total`), whichever way they were found.
 */
describe.each(testDatabases())('the work list found by a walk in _lastUpdated order, on %s', (kind) => {
  let db: ClosableDb;
  const N = 3600;
  const VASTERAS = 'kommun-1980';
  const SALA = 'kommun-1981';
  const LASARETT = 'lasarett';
  const VC = 'vardcentral';
  const as = (org: string, role: AccessScope['role'] = 'municipality'): AccessScope => ({
    role,
    clientId: org,
    organization: `Organization/${org}`,
  });
  const admin: AccessScope = { role: 'admin', clientId: 'admin' };
  /** Task i: its owner and status, as written below. */
  const owner = (i: number) => (i % 3 === 0 ? VASTERAS : i % 600 === 1 ? SALA : 'sjukhus');
  const status = (i: number) => (i % 30 === 0 ? 'completed' : 'requested');
  const requested = (i: number) => i % 400 === 3; // by the lasarett
  const written = (i: number) => i % 450 === 7; // and requested, by the vårdcentral
  const id = (i: number) => `t${String(i).padStart(5, '0')}`;

  beforeAll(async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content, writer_orgs)
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 1, timestamptz '2026-01-01T00:00:00Z' + g * interval '1 minute', 'POST',
              json_build_object('resourceType', 'Task', 'id', 't' || lpad(g::text, 5, '0'))::text,
              CASE WHEN g % 450 = 7 THEN ARRAY['Organization/sjukhus', $2] ELSE ARRAY['Organization/sjukhus'] END
         FROM generate_series(1, $1::int) g`,
      [N, `Organization/${VC}`],
    );
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'owner', 'Organization',
              CASE WHEN g % 3 = 0 THEN $2 WHEN g % 600 = 1 THEN $3 ELSE 'sjukhus' END
         FROM generate_series(1, $1::int) g
       UNION ALL
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'status', NULL, CASE WHEN g % 30 = 0 THEN 'completed' ELSE 'requested' END
         FROM generate_series(1, $1::int) g
       UNION ALL
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'requester', 'Organization', $4
         FROM generate_series(1, $1::int) g WHERE g % 400 = 3
       UNION ALL
       SELECT 'Task', 't' || lpad(g::text, 5, '0'), 'requester', 'Organization', $5
         FROM generate_series(1, $1::int) g WHERE g % 450 = 7`,
      [N, VASTERAS, SALA, LASARETT, VC],
    );
    // the Tasks' (owner, status) key, as migration 006 writes it for rows stored before it (the writes add it since)
    await db.query('SELECT svu_task_owner_status_backfill()');
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
  });
  afterAll(async () => db.close());

  /** The search through the store, and the statements it sent. */
  const search = async (params: SearchParams, scope: AccessScope) => {
    const sent: string[] = [];
    const sentValues: (readonly unknown[])[] = [];
    const recording: Db = {
      kind: db.kind,
      query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
        sent.push(sql);
        sentValues.push(values);
        return db.query<R>(sql, values);
      },
      transaction: (fn) => db.transaction(fn),
    };
    const found = await createRepository(recording, scope).search('Task', params);
    const answer = {
      ids: found.resources.map((r) => r.id),
      next: found.next !== undefined,
      ...(found.total !== undefined ? { total: found.total } : {}),
    };
    // whether the page (or the total) was read from the Tasks' (owner, status) key
    const byKey = sent.some((sql, k) => pages([sql]).length > 0 && sentValues[k]?.includes(OWNER_STATUS));
    return { ...answer, answer, sent, byKey };
  };
  /**
   * The definition: every Task 1..N that matches, in `order` (oldest first unless told), then the page, and the
   * total when asked for.
   */
  const expected = (
    match: (i: number) => boolean,
    { offset = 0, count = 20, order = (a: number, b: number) => a - b, total = false } = {},
  ) => {
    const all = Array.from({ length: N }, (_, k) => k + 1)
      .filter(match)
      .sort(order);
    const page = { ids: all.slice(offset, offset + count).map(id), next: all.length > offset + count };
    return total ? { ...page, total: all.length } : page;
  };
  const newestFirst = (a: number, b: number) => b - a;
  const walked = (sent: string[]) => sent.some((sql) => sql.includes(`LIMIT ${WALK_ROWS}) r`));
  /** The statements that read the page or the total without a walk: driven from an id list, or collected as sets. */
  const pages = (sent: string[]) =>
    sent.filter((sql) => /^SELECT (r\.id|count)/.test(sql) && !sql.includes(`LIMIT ${WALK_ROWS}) r`));
  const driven = (sent: string[]) => pages(sent).length > 0 && pages(sent).every((sql) => sql.includes('ANY(ARRAY('));
  const collected = (sent: string[]) => pages(sent).some((sql) => !sql.includes('ANY(ARRAY('));

  it("when a municipality lists its requested Tasks, then the page is found by the walk alone and is the definition's", async () => {
    const mine = (i: number) => owner(i) === VASTERAS && status(i) === 'requested';
    for (const scope of [as(VASTERAS), admin]) {
      const r = await search({ owner: `Organization/${VASTERAS}`, status: 'requested' }, scope);
      expect(r.answer).toEqual(expected(mine));
      expect(walked(r.sent) && pages(r.sent)).toEqual([]);
    }
    // its Tasks without a parameter (the tenant rules alone), newest first, and a later page
    const own = await search({ _sort: '-_lastUpdated' }, as(VASTERAS));
    expect(own.answer).toEqual(expected((i) => owner(i) === VASTERAS, { order: newestFirst }));
    expect(walked(own.sent) && pages(own.sent)).toEqual([]);
    const page = await search({ owner: `Organization/${VASTERAS}`, status: 'requested', _offset: '60' }, admin);
    expect(page.answer).toEqual(expected(mine, { offset: 60 }));
    expect(walked(page.sent) && pages(page.sent)).toEqual([]);
  });

  it('when each condition matches many and the page lies beyond the walk, then the matches are collected, with the same answer', async () => {
    const last = await search({ owner: `Organization/${VASTERAS}`, status: 'requested', _offset: '880' }, admin);
    expect(last.answer).toEqual(expected((i) => owner(i) === VASTERAS && status(i) === 'requested', { offset: 880 }));
    expect(!walked(last.sent) && collected(last.sent)).toBe(true);
    const counted = await search({ status: 'requested', _total: 'accurate', _sort: '-_id', _offset: '300' }, admin);
    expect(counted.answer).toEqual(
      expected((i) => status(i) === 'requested', { offset: 300, order: newestFirst, total: true }),
    );
    expect(collected(counted.sent)).toBe(true);
  });

  it("when one condition or the tenant's Tasks are few, then the search is driven from them, with the definition's answers", async () => {
    const byOwner = (a: number, b: number) => owner(a).localeCompare(owner(b)) || a - b;
    const cases: [string, SearchParams, AccessScope, Parameters<typeof expected>][] = [
      [
        'Sala its requested',
        { owner: `Organization/${SALA}`, status: 'requested' },
        as(SALA),
        [(i) => owner(i) === SALA],
      ],
      [
        "Västerås's completed, the rarer condition",
        { owner: `Organization/${VASTERAS}`, status: 'completed', _count: '50', _total: 'accurate' },
        admin,
        [(i) => owner(i) === VASTERAS && status(i) === 'completed', { count: 50, total: true }],
      ],
      [
        'the last page of them',
        { owner: `Organization/${VASTERAS}`, status: 'completed', _offset: '100', _total: 'accurate' },
        admin,
        [(i) => owner(i) === VASTERAS && status(i) === 'completed', { offset: 100, total: true }],
      ],
      [
        'Västerås its completed, by id newest first',
        { status: 'completed', _sort: '-_id', _count: '7', _offset: '3' },
        as(VASTERAS),
        [(i) => owner(i) === VASTERAS && status(i) === 'completed', { offset: 3, count: 7, order: newestFirst }],
      ],
      [
        'an owner with no Tasks',
        { owner: 'Organization/nobody', status: 'requested', _total: 'accurate' },
        admin,
        [() => false, { total: true }],
      ],
      ['a vårdcentral, requested', { status: 'requested' }, as(VC, 'primary-care'), [(i) => written(i)]],
      [
        'a vårdcentral, its Tasks by owner, counted',
        { _sort: 'owner', _total: 'accurate', _count: '5' },
        as(VC, 'primary-care'),
        [(i) => written(i), { count: 5, order: byOwner, total: true }],
      ],
      [
        'a hospital, requested, a later page',
        { status: 'requested', _total: 'accurate', _count: '3', _offset: '2' },
        as(LASARETT, 'hospital'),
        [(i) => requested(i), { offset: 2, count: 3, total: true }],
      ],
      ['a hospital, by owner', { _sort: 'owner' }, as(LASARETT, 'hospital'), [(i) => requested(i), { order: byOwner }]],
      [
        'a municipality owning few, every status, newest first',
        { _sort: '-_lastUpdated', _total: 'accurate' },
        as(SALA),
        [(i) => owner(i) === SALA, { order: newestFirst, total: true }],
      ],
    ];
    for (const [what, params, scope, definition] of cases) {
      const r = await search(params, scope);
      expect(r.answer, what).toEqual(expected(...definition));
      expect(driven(r.sent) && !walked(r.sent), what).toBe(true);
    }
  });

  it("when a search has an exact owner and status, then it is driven from the Tasks' (owner, status) key when that is rare, with the definition's answers", async () => {
    const of =
      (o: string, ...st: string[]) =>
      (i: number) =>
        owner(i) === o && st.includes(status(i));
    const V = `Organization/${VASTERAS}`;
    // [what, search, scope, definition, read from the key]
    const cases: [string, SearchParams, AccessScope, Parameters<typeof expected>, boolean][] = [
      // each condition alone matches over DRIVE_ROWS Tasks (2 394 and 3 480), together none
      [
        "a hospital's completed",
        { owner: 'Organization/sjukhus', status: 'completed', _total: 'accurate' },
        admin,
        [() => false, { total: true }],
        true,
      ],
      [
        "Västerås's completed or cancelled, a first page",
        { owner: V, status: 'completed,cancelled', _count: '50', _total: 'accurate' },
        admin,
        [of(VASTERAS, 'completed'), { count: 50, total: true }],
        true,
      ],
      ['by its id alone', { owner: VASTERAS, status: 'completed' }, admin, [of(VASTERAS, 'completed')], true],
      [
        'by a full URL, by id newest first',
        { owner: `https://example.org/fhir/${V}`, status: 'completed', _sort: '-_id', _count: '7', _offset: '3' },
        admin,
        [of(VASTERAS, 'completed'), { offset: 3, count: 7, order: newestFirst }],
        true,
      ],
      [
        'Västerås its completed, the last page',
        { owner: V, status: 'completed', _offset: '100', _total: 'accurate' },
        as(VASTERAS),
        [of(VASTERAS, 'completed'), { offset: 100, total: true }],
        true,
      ],
      [
        'a vårdcentral, a hospital’s completed',
        { owner: 'Organization/sjukhus', status: 'completed', _total: 'accurate' },
        as(VC, 'primary-care'),
        [() => false, { total: true }],
        true,
      ],
      [
        'a hospital that requested some, another’s completed',
        { owner: 'Organization/sjukhus', status: 'completed' },
        as(LASARETT, 'hospital'),
        [() => false],
        true,
      ],
      [
        'two owners: no Task has both',
        { owner: [V, 'Organization/sjukhus'], status: 'completed' },
        admin,
        [() => false],
        true,
      ],
      // the tenant's Tasks fewer than the key's: driven from them, as before
      [
        'Sala its requested',
        { owner: `Organization/${SALA}`, status: 'requested' },
        as(SALA),
        [of(SALA, 'requested')],
        false,
      ],
      [
        'a vårdcentral, a hospital’s requested',
        { owner: 'Organization/sjukhus', status: 'requested', _total: 'accurate' },
        as(VC, 'primary-care'),
        [(i) => written(i), { total: true }],
        false,
      ],
      // many: the walk, or the sets
      [
        'two owners, two statuses, a late page',
        { owner: `${V},Organization/${SALA}`, status: 'requested,completed', _offset: '1190', _total: 'accurate' },
        admin,
        [(i) => owner(i) === VASTERAS || owner(i) === SALA, { offset: 1190, total: true }],
        false,
      ],
      // not exact: planned as before
      ['a negated status', { owner: V, 'status:not': 'requested' }, admin, [of(VASTERAS, 'completed')], false],
      ['a status without a system', { owner: V, status: '|completed' }, admin, [of(VASTERAS, 'completed')], false],
      [
        'an owner present',
        { 'owner:missing': 'false', status: 'completed', _total: 'accurate' },
        admin,
        [(i) => status(i) === 'completed', { total: true }],
        false,
      ],
    ];
    for (const [what, params, scope, definition, fromKey] of cases) {
      const r = await search(params, scope);
      expect(r.answer, what).toEqual(expected(...definition));
      expect(r.byKey, what).toBe(fromKey);
    }
  });

  it('when a search drives from a condition, then the counts that chose it were each capped at the fewest before', async () => {
    const r = await search({ owner: `Organization/${VASTERAS}`, status: 'completed' }, as(VASTERAS));
    expect(r.sent[0]).toMatch(
      /^WITH c\d+ AS \(SELECT count\(\*\)::int AS n FROM \(.* LIMIT \d+\) d\), c\d+ AS .* LIMIT \(SELECT least\(/,
    );
  });

  it('when a search is sorted by something else or has a selective parameter, then it is not walked', () => {
    expect(planSearch('Task', { owner: 'Organization/x', _sort: 'status' }, admin).walkable).toBe(false);
    expect(planSearch('Task', { owner: 'Organization/x', encounter: 'Encounter/e1' }, admin).walkable).toBe(false);
    expect(planSearch('Task', { owner: 'Organization/x', 'encounter.status': 'finished' }, admin).walkable).toBe(false);
    expect(planSearch('Task', {}, admin).walkable).toBe(false); // nothing to check: the index order is the answer
    expect(planSearch('Task', { owner: 'Organization/x', _lastUpdated: 'gt2026-01-01' }, admin).walkable).toBe(true);
  });
});

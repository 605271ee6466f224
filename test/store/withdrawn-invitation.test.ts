import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { SqlParams } from '../../src/store/access-sql';
import type { ClosableDb } from '../../src/store/db.port';
import { sampledCount } from '../../src/store/read-sql';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { planSearch } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from './fixtures';

/**
 * A cancelled SIP invitation stays its owner's to read but no longer opens the stay's Encounter and Patient; any
 * other Task of the owner still does (a requested invitation, a cancelled Task that is no invitation, another Task of
 * the same stay). Every form of the tenant rule says the same: the set form (a search's page and `_total=accurate`),
 * the per-row form (reads, a search by `_id`, `_include`) and the walk's form (`_total=estimate`'s sample). The set
 * form checks the cancelled invitations as one set per statement, read from the SIP invitations' own index: not two
 * lookups per Task reference (210 000 for a vårdcentral's Encounter count on the 10 000-stay store), nor every
 * cancelled Task of the region (docs/performance.md, "2026-12-07, afternoon").
 */
describe.each(testDatabases())('a cancelled SIP invitation does not open the stay, on %s', (kind) => {
  let db: ClosableDb;
  let vc: FhirRepository;
  let kommun: FhirRepository;
  const scopes: Record<string, AccessScope> = {};
  const ids: Record<string, string> = {};

  const invitation = (status: Task['status'], org: string): Partial<Task> => ({
    status,
    identifier: [{ system: IDENTIFIER_SYSTEM.sipInvitation, value: `plan-1|${org}` }],
  });

  beforeAll(async () => {
    db = await openTestDb(kind);
    const system = createRepository(db);
    const v = await system.create({ ...municipality('0000', 'Vårdcentralen'), identifier: [] });
    const k = await system.create(municipality('1980', 'Västerås stad'));
    const as = (id: string, role: AccessScope['role']): AccessScope => ({
      clientId: `c-${id}`,
      organization: `Organization/${id}`,
      role,
    });
    scopes.vc = as(v.id!, 'primary-care');
    scopes.kommun = as(k.id!, 'municipality');
    vc = createRepository(db, scopes.vc);
    kommun = createRepository(db, scopes.kommun);
    const hospital = createRepository(db, as('hosp', 'hospital'));
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    for (const n of [1, 2, 3, 4]) {
      const p = await hospital.create(patient(`19400101${1000 + n}`), w);
      const e = await hospital.create(encounter(`E${n}`, `Patient/${p.id}`), w);
      ids[`p${n}`] = p.id!;
      ids[`e${n}`] = e.id!;
    }
    const of = (n: number, owner: string, extra: Partial<Task>) =>
      system.create(
        task('sip', `Organization/${owner}`, `Patient/${ids[`p${n}`]}`, `Encounter/${ids[`e${n}`]}`, extra),
      );
    // stay 1: the vårdcentral's only Task is its cancelled invitation, as is the municipality's
    ids.t1 = (await of(1, v.id!, invitation('cancelled', v.id!))).id!;
    ids.t1k = (await of(1, k.id!, invitation('cancelled', k.id!))).id!;
    // stay 2: an invitation still open; stay 3: a cancelled Task that is no invitation
    await of(2, v.id!, invitation('requested', v.id!));
    await of(3, v.id!, { status: 'cancelled' });
    // stay 4: a cancelled invitation and another Task of the stay
    await of(4, v.id!, invitation('cancelled', v.id!));
    await of(4, v.id!, {});
  });
  afterAll(async () => db.close());

  const open = (...n: number[]) => ({
    Encounter: n.map((i) => ids[`e${i}`]).sort(),
    Patient: n.map((i) => ids[`p${i}`]).sort(),
  });

  /** The ids of `type` that `scope` sees by the plan's WHERE (`form`: set, per row, or the walk's). */
  const visible = async (scope: AccessScope, type: string, form: 'set' | 'perRow' | 'walk') => {
    const plan = planSearch(type, {}, scope, new SqlParams(), { perRow: form === 'perRow' }, { walk: form === 'walk' });
    const rows = await db.query<{ id: string }>(
      `SELECT r.id FROM fhir_resource r WHERE ${plan.where} ORDER BY r.id`,
      plan.whereValues,
    );
    return rows.rows.map((r) => r.id);
  };

  it('when a party’s invitation to a stay was cancelled, then no form of the tenant rule shows it that stay; its other Tasks still show theirs', async () => {
    for (const type of ['Encounter', 'Patient'] as const) {
      expect(await visible(scopes.vc!, type, 'set')).toEqual(open(2, 3, 4)[type]);
      expect(await visible(scopes.vc!, type, 'perRow')).toEqual(open(2, 3, 4)[type]);
      expect(await visible(scopes.vc!, type, 'walk')).toEqual(open(2, 3, 4)[type]);
      for (const form of ['set', 'perRow', 'walk'] as const)
        expect(await visible(scopes.kommun!, type, form)).toEqual([]);
    }
  });

  it('when a party searches with _total=accurate or =estimate, then the total counts what the search shows', async () => {
    for (const type of ['Encounter', 'Patient'] as const) {
      const r = await vc.search(type, { _total: 'accurate', _count: '100' });
      expect(r.resources.map((x) => x.id).sort()).toEqual(open(2, 3, 4)[type]);
      expect(r.total).toBe(3);
      // the walk's form over every page of the store (a sample of 100 %)
      expect(await sampledCount(db, scopes.vc, type, {}, 100)).toBe(3);
      expect((await kommun.search(type, { _total: 'accurate' })).total).toBe(0);
    }
  });

  it('when a party reads the stay one way or another, then the cancelled invitation opens nothing, and the invitation itself stays readable', async () => {
    await expect(vc.read('Encounter', ids.e1!)).rejects.toMatchObject({ code: 'not-found' });
    await expect(vc.read('Patient', ids.p1!)).rejects.toMatchObject({ code: 'not-found' });
    expect((await vc.read('Encounter', ids.e4!)).id).toBe(ids.e4);
    expect((await vc.search('Encounter', { _id: ids.e1! })).resources).toEqual([]);
    expect((await vc.read<Task>('Task', ids.t1!)).status).toBe('cancelled');
    expect((await kommun.read<Task>('Task', ids.t1k!)).status).toBe('cancelled');
    const included = await vc.search('Task', { _include: 'Task:encounter', _count: '100' });
    expect(included.included.map((x) => x.id).sort()).toEqual(open(2, 3, 4).Encounter);
  });

  it('when the party has many Tasks and the region many cancelled ones, then the set form reads the SIP invitations once, not each Task reference nor each cancelled Task', async () => {
    // 300 more Tasks of the vårdcentral in stay 2, cancelled, no invitations (index rows only: the rule reads
    // nothing else of them): a cancelled Task that is no invitation still opens its stay
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       SELECT 'Task', 'busy-' || g, p, CASE WHEN p = 'status' THEN NULL WHEN p = 'owner' THEN 'Organization' ELSE 'Encounter' END,
              CASE p WHEN 'owner' THEN $1 WHEN 'status' THEN 'cancelled' ELSE $2 END
       FROM generate_series(1, 300) g CROSS JOIN unnest(ARRAY['owner', 'status', 'encounter']) p`,
      [scopes.vc!.organization!.slice('Organization/'.length), ids.e2],
    );
    await db.query('ANALYZE fhir_search');
    const plan = planSearch('Encounter', {}, scopes.vc, new SqlParams());
    const sql = `SELECT count(*)::int AS n FROM fhir_resource r WHERE ${plan.where}`;
    expect((await db.query<{ n: number }>(sql, plan.whereValues)).rows[0]?.n).toBe(3);
    const explained = await db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
      plan.whereValues,
    );
    const raw = explained.rows[0]!['QUERY PLAN'];
    const json = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
    const of = (alias: string) => nodes(json[0]!.Plan).filter((n) => n.Alias === alias);
    // the invitations' identifier rows (alias wi) read once per statement (a parallel plan: once per worker) ...
    expect(of('wi').length).toBeGreaterThan(0);
    expect(Math.max(...of('wi').map((n) => n['Actual Loops']))).toBeLessThanOrEqual(3);
    // ... and the status rows (alias ws) looked up for those 4 invitations alone: not for each of the 300 Task
    // references, nor read for each of the 303 cancelled Tasks
    const invitations = 4;
    for (const n of of('ws')) {
      expect(n['Actual Loops']).toBeLessThanOrEqual(invitations);
      expect(n['Actual Loops'] * n['Actual Rows']).toBeLessThanOrEqual(invitations);
    }
    expect(of('ws').length).toBeGreaterThan(0);
  });

  it('when the store is migrated, then the invitations’ index holds the identifier system the rule compares', async () => {
    const index = await db.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'fhir_search' AND indexname = 'fhir_search_sip_invitation'`,
    );
    expect(index.rows[0]?.indexdef).toContain(`'${IDENTIFIER_SYSTEM.sipInvitation}'`);
  });
});

interface PlanNode {
  Alias?: string;
  'Actual Loops': number;
  'Actual Rows': number;
  Plans?: PlanNode[];
}

function nodes(n: PlanNode): PlanNode[] {
  return [n, ...(n.Plans ?? []).flatMap(nodes)];
}

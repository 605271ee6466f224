import type { Encounter, Patient, Resource, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository, ResourceChange } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, KOMMUNKOD, municipality, patient, PNR, SVU_TASK, task } from './fixtures';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'ok';
}

describe.each(testDatabases())('FHIR repository on %s', (kind) => {
  let db: ClosableDb;
  let repo: FhirRepository;
  beforeAll(async () => {
    db = await openTestDb(kind);
    repo = createRepository(db);
  });
  afterAll(async () => db.close());

  const outboxFor = async (type: string, id: string) =>
    (
      await db.query<{ action: string; version_id: string; stay_key: string | null; kind: string }>(
        'SELECT kind, action, version_id, stay_key FROM outbox WHERE resource_type = $1 AND resource_id = $2 ORDER BY id',
        [type, id],
      )
    ).rows;

  it('when a resource is created, then it gets an id, version 1 and lastUpdated, and reads back equal', async () => {
    const p = await repo.create(patient('191212121212'));
    // time-ordered (UUID version 7): the store's indexes on the id grow at their right edge
    expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p.meta?.versionId).toBe('1');
    expect(Date.parse(p.meta?.lastUpdated ?? '')).toBeGreaterThan(0);
    expect(await repo.read('Patient', p.id!)).toEqual(p);
    expect(await outboxFor('Patient', p.id!)).toEqual([
      { kind: 'resource-changed', action: 'create', version_id: '1', stay_key: null },
    ]);
  });

  it('when a resource is updated, then the version goes up and the old version stays readable', async () => {
    const p = await repo.create(patient('191212121212'));
    const p2 = await repo.update({ ...p, gender: 'female' });
    expect(p2.meta?.versionId).toBe('2');
    expect((await repo.vread<Patient>('Patient', p.id!, '1')).gender).toBeUndefined();
    expect((await repo.vread<Patient>('Patient', p.id!, '2')).gender).toBe('female');
    const h = await repo.history('Patient', p.id);
    expect(h.map((e) => [e.versionId, e.method])).toEqual([
      ['2', 'PUT'],
      ['1', 'POST'],
    ]);
  });

  it('when an indexed value changes, then the old value no longer finds the resource and the new one does', async () => {
    const p = await repo.create({ ...patient('191212121212'), gender: 'male' });
    await repo.update({ ...p, gender: 'female' });
    const byGender = async (gender: string) =>
      (await repo.search('Patient', { _id: p.id!, gender })).resources.map((x) => x.id);
    expect(await byGender('male')).toEqual([]);
    expect(await byGender('female')).toEqual([p.id]);
  });

  it('when an update changes some indexed values, then only their rows are rewritten and the index equals a fresh one', async () => {
    const rows = async (id: string) =>
      (
        await db.query<{ r: string; ctid: string }>(
          `SELECT concat_ws('|', param, coalesce(system, ''), value, lo, hi) AS r, ctid::text AS ctid FROM fhir_search
            WHERE resource_type = 'Patient' AND resource_id = $1 ORDER BY 1`,
          [id],
        )
      ).rows;
    const p = await repo.create({ ...patient('191212121212'), gender: 'male', birthDate: '1912-12-12' });
    const before = await rows(p.id!);
    const p2 = await repo.update({ ...p, gender: 'female', birthDate: undefined });
    const after = await rows(p.id!);
    const fresh = await repo.create({ ...p2, id: undefined, meta: undefined });
    expect(after.map((x) => x.r)).toEqual((await rows(fresh.id!)).map((x) => x.r));
    expect(after.some((x) => x.r.startsWith('gender||female'))).toBe(true);
    expect(after.some((x) => x.r.startsWith('gender||male') || x.r.startsWith('birthdate'))).toBe(false);
    // the rows the update kept are the same rows (not deleted and inserted again)
    const kept = before.filter((x) => !x.r.startsWith('gender') && !x.r.startsWith('birthdate'));
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) expect(after.find((x) => x.r === k.r)?.ctid).toBe(k.ctid);
  });

  it('when an update changes nothing, then the version is kept and no outbox row is written', async () => {
    const p = await repo.create(patient('191212121212'));
    const { meta: _m, ...same } = p;
    const again: Patient = await repo.update<Patient>({ ...same, id: p.id });
    expect(again.meta?.versionId).toBe('1');
    expect(await outboxFor('Patient', p.id!)).toHaveLength(1);
  });

  it('when If-Match names an old version, then the update fails with version-conflict', async () => {
    const p = await repo.create(patient('191212121212'));
    await repo.update({ ...p, gender: 'male' }, { ifMatch: 'W/"1"' });
    expect(await code(repo.update({ ...p, gender: 'other' }, { ifMatch: 'W/"1"' }))).toBe('version-conflict');
    expect(await code(repo.update({ ...p, gender: 'other' }, { ifMatch: 'W/"2"' }))).toBe('ok');
  });

  it('when two updates with the same If-Match run concurrently, then exactly one wins', async () => {
    const p = await repo.create(patient('191212121212'));
    const results = await Promise.all(
      ['male', 'female', 'other', 'unknown'].map((g) =>
        code(repo.update({ ...p, gender: g as Patient['gender'] }, { ifMatch: '1' })),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'version-conflict')).toHaveLength(3);
    expect((await repo.read('Patient', p.id!)).meta?.versionId).toBe('2');
  });

  it('when an update names an unknown id, then it creates the resource with that id', async () => {
    const p = await repo.update({ ...patient('191212121212'), id: 'client-chosen-1' });
    expect(p.id).toBe('client-chosen-1');
    expect(p.meta?.versionId).toBe('1');
    expect(await outboxFor('Patient', 'client-chosen-1')).toMatchObject([{ action: 'create' }]);
  });

  it('when a resource is deleted, then reads answer gone and history keeps every version', async () => {
    const p = await repo.create(patient('191212121212'));
    await repo.delete('Patient', p.id!);
    expect(await code(repo.read('Patient', p.id!))).toBe('gone');
    expect(await code(repo.vread('Patient', p.id!, '2'))).toBe('gone');
    expect((await repo.vread('Patient', p.id!, '1')).id).toBe(p.id);
    expect((await repo.history('Patient', p.id)).map((e) => e.method)).toEqual(['DELETE', 'POST']);
    expect((await repo.search('Patient', { _id: p.id! })).resources).toHaveLength(0);
    expect((await outboxFor('Patient', p.id!)).map((o) => o.action)).toEqual(['create', 'delete']);
    expect(await code(repo.read('Patient', 'never-existed'))).toBe('not-found');
  });

  it('when an Encounter or its Task is written, then the outbox row carries the stay key', async () => {
    const p = await repo.create(patient('191212121212'));
    const e = await repo.create(encounter('E-1', `Patient/${p.id}`));
    const t = await repo.create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      encounter: { reference: `Encounter/${e.id}` },
    });
    expect((await outboxFor('Encounter', e.id!))[0]?.stay_key).toBe(e.id);
    expect((await outboxFor('Task', t.id!))[0]?.stay_key).toBe(e.id);
  });

  it('when a write is silent, then no outbox row is written', async () => {
    const a = await repo.create<Resource>(
      {
        resourceType: 'AuditEvent',
        type: { code: 'rest' },
        recorded: '2026-01-01T00:00:00Z',
        agent: [],
        source: { observer: {} },
      },
      { silent: true },
    );
    expect(await outboxFor('AuditEvent', a.id!)).toHaveLength(0);
  });

  it('when a hook throws, then the write is rolled back; when it writes, its rows commit with the change', async () => {
    const changes: ResourceChange[] = [];
    const hooked = createRepository(db, undefined, {
      async afterWrite(tx, change) {
        changes.push(change);
        await tx.query("INSERT INTO outbox (kind, resource_id) VALUES ('hook-test', $1)", [change.id]);
        if ((change.after as Patient | undefined)?.gender === 'unknown') throw new Error('hook refuses');
      },
    });
    const p = await hooked.create(patient('191212121212'));
    expect(changes[0]).toMatchObject({ action: 'create', resourceType: 'Patient', id: p.id });
    await expect(hooked.update({ ...p, gender: 'unknown' })).rejects.toThrow('hook refuses');
    expect((await repo.read('Patient', p.id!)).meta?.versionId).toBe('1');
    const hookRows = await db.query("SELECT 1 FROM outbox WHERE kind = 'hook-test' AND resource_id = $1", [p.id]);
    expect(hookRows.rows).toHaveLength(1);
  });

  it('when conditional creates for the same identifier run concurrently, then one resource is created', async () => {
    const pnr = '194001011234';
    const results = await Promise.all(
      [1, 2, 3].map(() => repo.conditionalCreate(patient(pnr), `identifier=${PNR}|${pnr}`)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.resource.id)).size).toBe(1);
  });

  it('when a conditional update matches one, then it updates it; none, then it creates; several, then 412', async () => {
    const pnr = '195001011234';
    const first = await repo.conditionalUpdate(patient(pnr), `identifier=${PNR}|${pnr}`);
    expect(first.created).toBe(true);
    const second = await repo.conditionalUpdate({ ...patient(pnr), gender: 'male' }, `identifier=${PNR}|${pnr}`);
    expect(second).toMatchObject({ created: false, resource: { id: first.resource.id, meta: { versionId: '2' } } });
    await repo.create(patient(pnr));
    expect(await code(repo.conditionalUpdate(patient(pnr), `identifier=${PNR}|${pnr}`))).toBe('multiple-matches');
    expect(await code(repo.conditionalCreate(patient(pnr), `identifier=${pnr}`))).toBe('multiple-matches');
  });

  it('when conditional criteria carry result parameters (_sort, _count), then they are ignored: only the search parameters match', async () => {
    const pnr = '195501011234';
    const criteria = `identifier=${PNR}|${pnr}&_sort=birthdate&_count=5`;
    const first = await repo.conditionalCreate(patient(pnr), criteria);
    const again = await repo.conditionalCreate(patient(pnr), criteria);
    expect([first.created, again.created, again.resource.id]).toEqual([true, false, first.resource.id]);
    const updated = await repo.conditionalUpdate({ ...patient(pnr), gender: 'male' }, `${criteria}&_total=accurate`);
    expect(updated).toMatchObject({ created: false, resource: { id: first.resource.id, meta: { versionId: '2' } } });
    const bundle = await repo.processBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...patient(pnr), gender: 'female' },
          request: { method: 'PUT', url: `Patient?${criteria}` },
        },
      ],
    });
    expect(bundle.entry?.[0]?.response?.status).toMatch(/^200/);
  });

  it('when municipalities are searched by kommunkod with or without system, then both find them', async () => {
    const org = await repo.create(municipality('1980', 'Västerås stad'));
    await repo.create(municipality('1981', 'Sala kommun'));
    for (const q of ['1980', `${KOMMUNKOD}|1980`]) {
      const r = await repo.search('Organization', { identifier: q });
      expect(r.resources.map((o) => o.id)).toEqual([org.id]);
    }
    expect((await repo.search('Organization', { identifier: `urn:other|1980` })).resources).toHaveLength(0);
    expect((await repo.search('Organization', { name: 'vaster' })).resources.map((o) => o.id)).toEqual([org.id]);
  });

  it('when an unknown search parameter is used, then the search fails with bad-request', async () => {
    expect(await code(repo.search('Patient', { shoeSize: '42' }))).toBe('bad-request');
    expect(await code(repo.search('Patient', { birthdate: 'yesterday' }))).toBe('bad-request');
    expect(await code(repo.search('Basic', {}))).toBe('not-found');
  });

  it('when Encounters are searched by date, status, class and patient, then the index answers', async () => {
    const p = await repo.create(patient('196001011234'));
    const e1 = await repo.create(encounter('D-1', `Patient/${p.id}`, '2025-03-01T10:00:00Z'));
    // a later millisecond: the order by _lastUpdated below must not fall to the tie-break by id
    await new Promise((r) => setTimeout(r, 3));
    const e2 = await repo.create<Encounter>({
      ...encounter('D-2', `Patient/${p.id}`, '2025-04-01T10:00:00Z'),
      status: 'finished',
      period: { start: '2025-04-01T10:00:00Z', end: '2025-04-05T10:00:00Z' },
    });
    const ids = async (q: Record<string, string>) =>
      (await repo.search('Encounter', { patient: p.id!, ...q })).resources.map((e) => e.id);
    expect(await ids({})).toEqual([e1.id, e2.id]);
    expect(await ids({ status: 'finished' })).toEqual([e2.id]);
    expect(await ids({ 'status:not': 'finished' })).toEqual([e1.id]);
    expect(await ids({ class: 'IMP', date: 'ge2025-03-15' })).toEqual([e1.id, e2.id]);
    expect(await ids({ date: 'gt2025-04-10' })).toEqual([e1.id]);
    expect(await ids({ date: 'lt2025-03-15' })).toEqual([e1.id]);
    expect(await ids({ _sort: '-date' })).toEqual([e1.id, e2.id]);
    expect(await ids({ _sort: 'date' })).toEqual([e1.id, e2.id]);
    expect(await ids({ _sort: '-_lastUpdated' })).toEqual([e2.id, e1.id]);
  });

  it('when results exceed _count, then next pages through all of them exactly once with an accurate total', async () => {
    const fam = `Page${Date.now()}`;
    for (let i = 0; i < 7; i++) await repo.create(patient(`19700101${1000 + i}`, fam));
    const seen: string[] = [];
    let query: Record<string, string> = { family: fam, _count: '3', _total: 'accurate' };
    for (let page = 0; page < 5; page++) {
      const r = await repo.search('Patient', query);
      expect(r.total).toBe(7);
      seen.push(...r.resources.map((p) => p.id!));
      if (!r.next) break;
      query = Object.fromEntries(new URLSearchParams(r.next));
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('when _lastUpdated=gt is used, then only later changes are found', async () => {
    const a = await repo.create(patient('198001011234', 'Since'));
    await new Promise((r) => setTimeout(r, 5));
    const b = await repo.create(patient('198001021234', 'Since'));
    const r = await repo.search('Patient', { family: 'since', _lastUpdated: `gt${a.meta!.lastUpdated!}` });
    expect(r.resources.map((p) => p.id)).toEqual([b.id]);
  });

  it('when Tasks are searched by code, business status, deadline and owner, then the index answers and sorts', async () => {
    const owner = `Organization/own-${kind}`;
    const mk = (code: string, authoredOn: string, deadline: string, business?: string) =>
      repo.create(
        task(code, owner, 'Patient/p1', 'Encounter/e1', {
          authoredOn,
          restriction: { period: { end: deadline } },
          ...(business
            ? {
                businessStatus: {
                  coding: [
                    { system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task-business-status', code: business },
                  ],
                },
              }
            : {}),
        }),
      );
    const a = await mk('inskrivningsmeddelande', '2026-02-01T08:00:00Z', '2026-02-02T08:00:00Z', 'overdue');
    const b = await mk('utskrivningsklar', '2026-02-03T08:00:00Z', '2026-02-04T08:00:00Z', 'on-time');
    const c = await mk('kallelse-sip', '2026-02-02T08:00:00Z', '2026-02-10T08:00:00Z');
    const ids = async (q: Record<string, string | string[]>) =>
      (await repo.search('Task', { owner, ...q })).resources.map((t) => t.id);
    expect(await ids({ code: `${SVU_TASK}|utskrivningsklar` })).toEqual([b.id]);
    expect(await ids({ code: 'kallelse-sip,utskrivningsklar' })).toEqual([b.id, c.id]);
    expect(await ids({ 'business-status': 'overdue' })).toEqual([a.id]);
    expect(await ids({ 'business-status:missing': 'true' })).toEqual([c.id]);
    expect(await ids({ deadline: 'lt2026-02-05' })).toEqual([a.id, b.id]);
    expect(await ids({ deadline: ['ge2026-02-02', 'le2026-02-04T23:59:59Z'] })).toEqual([a.id, b.id]);
    expect(await ids({ _sort: 'authored-on' })).toEqual([a.id, c.id, b.id]);
    expect(await ids({ _sort: '-authored-on' })).toEqual([b.id, c.id, a.id]);
    expect(await ids({ encounter: 'Encounter/e1', patient: 'p1', _count: '1' })).toHaveLength(1);
    expect((await repo.search('Task', { owner, _summary: 'count' })).total).toBe(3);
    // a count with a sort by a search parameter: the count has no ORDER BY, so none of the sort's parameters
    const sorted = await repo.search('Task', { owner, _sort: '-authored-on', _total: 'accurate' });
    expect([sorted.total, sorted.resources.map((t) => t.id)]).toEqual([3, [b.id, c.id, a.id]]);
    expect((await repo.search('Task', { owner, _sort: 'authored-on', _summary: 'count' })).total).toBe(3);
    // an offset past any page is an empty page; one past what PostgreSQL's OFFSET takes is a clear 400
    expect((await repo.search('Task', { owner, _offset: '2147483647' })).resources).toEqual([]);
    expect(await code(repo.search('Task', { owner, _offset: '9999999999999999999' }))).toBe('bad-request');
    expect(await code(repo.search('Task', { owner, _lastUpdated: '' }))).toBe('bad-request');
    // _id and _lastUpdated take the modifiers that mean something for them, and refuse the others
    expect(await ids({ '_id:not': a.id! })).toEqual([b.id, c.id]);
    expect(await ids({ '_id:not': 'x' })).toEqual([a.id, b.id, c.id]);
    expect(await ids({ '_id:missing': 'false' })).toEqual([a.id, b.id, c.id]);
    expect(await ids({ '_id:missing': 'true', _lastUpdated: 'gt2000-01-01' })).toEqual([]);
    expect(await ids({ '_lastUpdated:missing': 'false' })).toEqual([a.id, b.id, c.id]);
    for (const bad of [{ '_id:bogus': '1' }, { '_lastUpdated:not': '2026' }, { _id: '' }, { '_id:missing': 'x' }])
      expect(await code(repo.search('Task', { owner, ...bad })), JSON.stringify(bad)).toBe('bad-request');
    // a date that does not exist is not a date
    for (const date of ['2026-13-45', 'gt2026-02-30', '2026-02-29', '2026-01-01T24:00:00Z'])
      expect(await code(repo.search('Task', { owner, _lastUpdated: date })), date).toBe('bad-request');
    expect(await code(repo.search('Task', { owner, 'authored-on': '2026-02-30' }))).toBe('bad-request');
    expect(await ids({ 'authored-on': '2024-02-29' })).toEqual([]);
  });

  it('when Task.for is searched as patient, for or subject, then one set of index rows answers all three', async () => {
    const owner = `Organization/alias-${kind}`;
    const p = await repo.create(patient('195505051234'));
    const onPatient = await repo.create(task('kallelse-sip', owner, `Patient/${p.id}`, 'Encounter/e9'));
    const onGroup = await repo.create(task('kallelse-sip', owner, `Group/${p.id}`, 'Encounter/e9'));
    const ids = async (q: Record<string, string | string[]>) =>
      (await repo.search('Task', { owner, ...q, _sort: '_id' })).resources.map((t) => t.id);
    const both = [onPatient.id, onGroup.id].sort();
    // `patient` is `subject` narrowed to Patient targets: a bare id must not find the Group one
    expect(await ids({ patient: p.id! })).toEqual([onPatient.id]);
    expect(await ids({ patient: `Patient/${p.id}` })).toEqual([onPatient.id]);
    expect(await ids({ for: p.id! })).toEqual(both);
    expect(await ids({ subject: `Group/${p.id}` })).toEqual([onGroup.id]);
    expect(await ids({ 'patient:missing': 'true' })).toEqual([onGroup.id]);
    const withPatients = await repo.search('Task', { owner, _include: 'Task:patient' });
    expect(withPatients.included.map((r) => `${r.resourceType}/${r.id}`)).toEqual([`Patient/${p.id}`]);
    const rows = await db.query<{ param: string }>(
      "SELECT param FROM fhir_search WHERE resource_type = 'Task' AND resource_id = $1 AND system IN ('Patient', 'Group')",
      [onPatient.id],
    );
    expect(rows.rows.map((r) => r.param)).toEqual(['subject']);
  });

  it('when names are searched, then matching is by prefix, case and accent insensitive, or contains', async () => {
    const p = await repo.create(patient('199001011234', 'Öberg-Ståhl'));
    const ids = async (q: Record<string, string>) => (await repo.search('Patient', q)).resources.map((x) => x.id);
    expect(await ids({ family: 'oberg' })).toEqual([p.id]);
    expect(await ids({ name: 'ÖBERG-STÅHL' })).toEqual([p.id]);
    expect(await ids({ 'family:contains': 'stahl' })).toEqual([p.id]);
    expect(await ids({ 'family:exact': 'oberg' })).toEqual([]);
  });

  it('when type history is asked with _since, then only later versions come back, newest first', async () => {
    const a = await repo.create<Encounter>(encounter('S-1', 'Patient/x'));
    await new Promise((r) => setTimeout(r, 5));
    const b = await repo.update<Encounter>({ ...a, status: 'finished' });
    const h = await repo.history('Encounter', undefined, { _since: b.meta!.lastUpdated! });
    expect(h.map((e) => `${e.id}/${e.versionId}`)).toContain(`${a.id}/2`);
    expect(h.map((e) => `${e.id}/${e.versionId}`)).not.toContain(`${a.id}/1`);
    expect(await code(repo.history('Encounter', undefined, { _sort: 'x' }))).toBe('bad-request');
  });
});

import type { Bundle, Patient, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySubset, SUBSETTED, subsetOf } from '../../src/fhir/subset';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const FHIR = 'application/fhir+json';
const subsetted = (r: { meta?: { tag?: { system?: string; code?: string }[] } }) =>
  (r.meta?.tag ?? []).filter((t) => t.system === SUBSETTED.system && t.code === SUBSETTED.code).length;

describe('_elements and _summary, the rules', () => {
  beforeAll(async () => {
    await createValidator(); // loads the R4 definitions the element lists come from
  });

  const full: Patient = {
    resourceType: 'Patient',
    id: 'p1',
    meta: { versionId: '2', tag: [{ system: 'urn:x', code: 'keep' }] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Tolvan</div>' },
    identifier: [{ system: 'urn:pnr', value: '191212121212' }],
    name: [{ family: 'Tolvansson' }],
    birthDate: '1912-12-12',
    _birthDate: { extension: [{ url: 'urn:precision', valueString: 'day' }] },
    deceasedBoolean: false,
    address: [{ city: 'Västerås' }],
  } as Patient;

  it('when elements are asked, then those (with a choice element by its name and a primitive’s extension) and id and meta come, tagged', () => {
    const s = subsetOf('Patient', { _elements: 'birthDate,deceased' })!;
    const out = applySubset(full, s) as unknown as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual([
      '_birthDate',
      'birthDate',
      'deceasedBoolean',
      'id',
      'meta',
      'resourceType',
    ]);
    expect(subsetted(out)).toBe(1);
    expect((out.meta as Patient['meta'])?.tag?.[0]).toEqual({ system: 'urn:x', code: 'keep' });
    expect(full.address).toHaveLength(1); // the input is left as it was
    // cut again (a subset of a subset): still one tag
    expect(subsetted(applySubset(out as unknown as Patient, s))).toBe(1);
  });

  it('when a Task subset leaves out its mandatory elements, then they come anyway', () => {
    const t = task('inskrivningsmeddelande', 'Organization/x', 'Patient/p', 'Encounter/e');
    expect(Object.keys(applySubset(t, subsetOf('Task', { _elements: 'owner' })!)).sort()).toEqual(
      ['intent', 'meta', 'owner', 'resourceType', 'status'].sort(),
    );
  });

  it('when _summary is true, text or data, then the summary elements, the narrative, or all but the narrative come', () => {
    const summary = applySubset(full, subsetOf('Patient', { _summary: 'true' })!);
    expect(Object.keys(summary).sort()).toEqual(
      [
        'address',
        'birthDate',
        '_birthDate',
        'deceasedBoolean',
        'id',
        'identifier',
        'meta',
        'name',
        'resourceType',
      ].sort(),
    );
    expect(Object.keys(applySubset(full, subsetOf('Patient', { _summary: 'text' })!)).sort()).toEqual(
      ['id', 'meta', 'resourceType', 'text'].sort(),
    );
    const data = applySubset(full, subsetOf('Patient', { _summary: 'data' })!);
    expect(data.text).toBeUndefined();
    expect(data.address).toEqual(full.address);
    expect(subsetOf('Patient', { _summary: 'false' })).toBeUndefined();
    expect(subsetOf('Patient', { _summary: 'count', _elements: 'name' })).toBeUndefined();
  });

  it.each([
    [{ _elements: 'nosuch' }, /'nosuch' is not an element of Patient/],
    [{ _elements: ' , ' }, /names no element/],
    [{ _elements: 'name', _summary: 'true' }, /two different subsets/],
    [{ _summary: 'maybe' }, /_summary must be true, text, data, count or false/],
    [{ _summary: ['true', 'data'] }, /more than once/],
  ])('when %j is asked, then it is refused by name', (params, message) => {
    expect(() => subsetOf('Patient', params)).toThrow(message);
  });
});

describe.each(testDatabases())('_elements and _summary over HTTP on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    db = await openTestDb(kind);
    const validator = await createValidator();
    const sys = createRepository(db);
    const v = await sys.create(municipality('1980', 'Västerås stad'));
    const s = await sys.create(municipality('1981', 'Sala kommun'));
    const p = await sys.create(patient(pnr('19400101', '123')));
    const e = await sys.create(encounter('E-subset', `Patient/${p.id}`));
    const t = await sys.create<Task>(
      task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${p.id}`, `Encounter/${e.id}`, {
        description: 'Inskrivningsmeddelande',
        restriction: { period: { end: '2026-01-11T09:00:00Z' } },
      }),
    );
    Object.assign(ids, { t: t.id!, e: e.id!, p: p.id! });
    app = testApp(db, validator, testClients(v.id!, s.id!));
  });
  afterAll(async () => db.close());

  const get = (who: string, url: string) => request(app).get(url).set('x-test-as', who);

  it('when the municipality searches its Tasks with _elements, then each match has only those and is tagged; includes stay whole', async () => {
    const r = await get('vasteras', '/fhir/Task?_elements=status,restriction&_include=Task:encounter');
    expect(r.status).toBe(200);
    const entries = (r.body as Bundle).entry ?? [];
    const match = entries.find((x) => x.search?.mode === 'match')?.resource as Task;
    expect(Object.keys(match).sort()).toEqual(['id', 'intent', 'meta', 'resourceType', 'restriction', 'status']);
    expect(subsetted(match)).toBe(1);
    const included = entries.find((x) => x.search?.mode === 'include')?.resource;
    expect(included?.resourceType).toBe('Encounter');
    expect(subsetted(included ?? {})).toBe(0);
    // another municipality asking the same sees nothing of it
    const sala = await get('sala', '/fhir/Task?_elements=status');
    expect((sala.body as Bundle).entry ?? []).toEqual([]);
  });

  it('when a Task is read or vread with _summary=true, then the summary elements come; a bad value is a 400 OperationOutcome', async () => {
    const read = await get('vasteras', `/fhir/Task/${ids.t}?_summary=true`);
    expect(read.status).toBe(200);
    expect(read.body.description).toBe('Inskrivningsmeddelande');
    expect(read.body.authoredOn).toBeUndefined();
    expect(subsetted(read.body)).toBe(1);
    const vread = await get('vasteras', `/fhir/Task/${ids.t}/_history/1?_elements=owner`);
    expect(Object.keys(vread.body).sort()).toEqual(['id', 'intent', 'meta', 'owner', 'resourceType', 'status']);
    const bad = await get('vasteras', `/fhir/Task/${ids.t}?_elements=owner;drop`);
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    expect((await get('sala', `/fhir/Task/${ids.t}?_elements=owner`)).status).toBe(404);
  });

  it('when the history of a Task or of all Tasks is asked with _elements, then every version is cut and tagged; a count or an unknown element is a 400', async () => {
    for (const url of [`/fhir/Task/${ids.t}/_history?_elements=owner`, '/fhir/Task/_history?_elements=owner']) {
      const r = await get('vasteras', url);
      expect(r.status, url).toBe(200);
      const versions = ((r.body as Bundle).entry ?? []).map((x) => x.resource as Task);
      expect(versions.length).toBeGreaterThan(0);
      for (const v of versions) {
        expect(Object.keys(v).sort()).toEqual(['id', 'intent', 'meta', 'owner', 'resourceType', 'status']);
        expect(subsetted(v)).toBe(1);
      }
    }
    const summary = await get('vasteras', `/fhir/Task/${ids.t}/_history?_summary=true`);
    expect(summary.body.entry[0].resource.description).toBe('Inskrivningsmeddelande');
    expect(summary.body.entry[0].resource.authoredOn).toBeUndefined();
    expect((await get('vasteras', `/fhir/Task/${ids.t}/_history?_summary=count`)).status).toBe(400);
    expect((await get('vasteras', `/fhir/Task/_history?_elements=nosuch`)).status).toBe(400);
    expect((await get('sala', `/fhir/Task/${ids.t}/_history?_elements=owner`)).status).toBe(404);
  });

  it("when a batch reads histories in its GET entries, then each is a history Bundle cut as asked, within the caller's tenant", async () => {
    const batch = (as: string, urls: string[], method = 'GET') =>
      request(app)
        .post('/fhir')
        .set('x-test-as', as)
        .set('Content-Type', FHIR)
        .send(
          JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: urls.map((url) => ({ request: { method, url } })),
          }),
        );
    const r = await batch('vasteras', [
      `Task/${ids.t}/_history?_elements=owner`,
      'Task/_history?_count=1',
      `Task/${ids.t}/_history?_summary=count`,
      `Task/${ids.t}/_history`,
    ]);
    expect(r.status).toBe(200);
    const [cut, one, count, whole] = (r.body as Bundle).entry ?? [];
    expect(cut?.response?.status).toMatch(/^200/);
    const cutBundle = cut?.resource as Bundle;
    expect(cutBundle.type).toBe('history');
    const versions = (cutBundle.entry ?? []).map((x) => x.resource as Task);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) {
      expect(Object.keys(v).sort()).toEqual(['id', 'intent', 'meta', 'owner', 'resourceType', 'status']);
      expect(subsetted(v)).toBe(1);
    }
    expect(cutBundle.entry?.[0]?.response?.etag).toMatch(/^W\/"/);
    expect((one?.resource as Bundle).entry).toHaveLength(1);
    expect(count?.response?.status).toMatch(/^400/);
    expect(JSON.stringify(count?.response?.outcome)).toMatch(/_summary=count/);
    expect(((whole?.resource as Bundle).entry?.[0]?.resource as Task).description).toBe('Inskrivningsmeddelande');
    // another municipality gets the same 404 as reading it alone, and nothing of another tenant's versions
    const sala = await batch('sala', [`Task/${ids.t}/_history`, 'Task/_history']);
    const [mine, all] = (sala.body as Bundle).entry ?? [];
    expect(mine?.response?.status).toMatch(/^404/);
    expect(JSON.stringify(all?.resource ?? {})).not.toContain(ids.t);
    // a history is only read
    const put = await batch('vasteras', [`Task/${ids.t}/_history`], 'PUT');
    expect((put.body as Bundle).entry?.[0]?.response?.status).toMatch(/^400/);
  });

  it('when a batch asks for subsets in its GET entries, then each answer is cut as asked and a bad one is refused alone', async () => {
    const r = await request(app)
      .post('/fhir')
      .set('x-test-as', 'vasteras')
      .set('Content-Type', FHIR)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { request: { method: 'GET', url: 'Task?_elements=owner' } },
            { request: { method: 'GET', url: `Task/${ids.t}?_summary=text` } },
            { request: { method: 'GET', url: 'Task?_elements=nosuch' } },
            { request: { method: 'GET', url: `Task/${ids.t}` } },
          ],
        }),
      );
    expect(r.status).toBe(200);
    const [search, read, bad, whole] = (r.body as Bundle).entry ?? [];
    const match = ((search?.resource as Bundle).entry ?? [])[0]?.resource as Task;
    expect(Object.keys(match).sort()).toEqual(['id', 'intent', 'meta', 'owner', 'resourceType', 'status']);
    expect(Object.keys(read?.resource ?? {}).sort()).toEqual(['id', 'intent', 'meta', 'resourceType', 'status']);
    expect(bad?.response?.status).toMatch(/^400/);
    expect(JSON.stringify(bad?.response?.outcome)).toMatch(/'nosuch' is not an element of Task/);
    expect((whole?.resource as Task).description).toBe('Inskrivningsmeddelande');
  });
});

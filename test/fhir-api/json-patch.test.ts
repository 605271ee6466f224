import type { Patient, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const PATCH_JSON = 'application/json-patch+json';

describe.each(testDatabases())('PATCH with a JSON Patch on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  let sys: FhirRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    sys = createRepository(db);
    const v = await sys.create(municipality('1980', 'Västerås stad'));
    const s = await sys.create(municipality('1981', 'Sala kommun'));
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const hospital = createRepository(db, {
      clientId: 'demo-ehr',
      organization: 'Organization/hosp',
      role: 'hospital',
    });
    const p = await hospital.create(
      {
        ...patient(pnr('19400101', '123')),
        meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] },
        address: [{ line: ['Hemliga vägen 1'], city: 'Västerås' }],
      },
      w,
    );
    const e = await hospital.create(encounter('E-patch', `Patient/${p.id}`), w);
    // another hospital must act for the stay: it sees the protected Patient as a recipient
    await sys.create(task('informationsoverforing', 'Organization/other-hosp', `Patient/${p.id}`, `Encounter/${e.id}`));
    Object.assign(ids, { v: v.id!, p: p.id!, e: e.id! });
    app = testApp(db, await createValidator(), testClients(v.id!, s.id!));
  });
  afterAll(async () => db.close());

  const newTask = async () =>
    sys.create<Task>(
      task('inskrivningsmeddelande', `Organization/${ids.v}`, `Patient/${ids.p}`, `Encounter/${ids.e}`, {
        requester: { reference: 'Organization/hosp' },
        description: 'Inskrivningsmeddelande',
        restriction: { period: { end: '2026-01-11T09:00:00Z' } },
      }),
    );
  const patch = (who: string, url: string, body: unknown, type = PATCH_JSON) =>
    request(app).patch(url).set('x-test-as', who).set('Content-Type', type).send(JSON.stringify(body));
  const acknowledge = [
    { op: 'test', path: '/status', value: 'requested' },
    { op: 'replace', path: '/status', value: 'received' },
    { op: 'add', path: '/note', value: [{ text: 'Mottaget' }] },
  ];

  it('when the owner acknowledges its Task with a patch, then only what it names changes and a new version is stored', async () => {
    const t = await newTask();
    const r = await patch('vasteras', `/fhir/Task/${t.id}`, acknowledge);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'received', note: [{ text: 'Mottaget' }], meta: { versionId: '2' } });
    expect(r.headers.etag).toBe('W/"2"');
    const stored = await sys.read<Task>('Task', t.id!);
    expect(stored.description).toBe('Inskrivningsmeddelande');
    expect(stored.restriction?.period?.end).toBe('2026-01-11T09:00:00Z');
  });

  it('when its test fails (the Task moved on), then 409 and nothing is stored', async () => {
    const t = await newTask();
    await sys.update({ ...t, status: 'cancelled' });
    const r = await patch('vasteras', `/fhir/Task/${t.id}`, acknowledge);
    expect(r.status).toBe(409);
    expect(r.body.issue[0].diagnostics).toMatch(/test at '\/status' failed/);
    expect((await sys.read<Task>('Task', t.id!)).meta?.versionId).toBe('2');
  });

  it('when the owner patches what it may not change, a client without the scope or another tenant patches, or If-Match is stale, then 403, 403, 404 and 412', async () => {
    const t = await newTask();
    const moved = await patch('vasteras', `/fhir/Task/${t.id}`, [
      { op: 'replace', path: '/restriction/period/end', value: '2027-01-01T00:00:00Z' },
    ]);
    expect(moved.status).toBe(403);
    expect(moved.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(
      'Task.restriction',
    );
    expect((await patch('sala', `/fhir/Task/${t.id}`, acknowledge)).status).toBe(403); // no update scope on Task
    expect((await patch('otherEhr', `/fhir/Task/${t.id}`, acknowledge)).status).toBe(404); // not its Task
    const stale = await request(app)
      .patch(`/fhir/Task/${t.id}`)
      .set('x-test-as', 'vasteras')
      .set('Content-Type', PATCH_JSON)
      .set('If-Match', 'W/"7"')
      .send(JSON.stringify(acknowledge));
    expect(stale.status).toBe(412);
    expect((await sys.read<Task>('Task', t.id!)).meta?.versionId).toBe('1');
  });

  it.each([
    [
      'a JSON Patch sent as FHIR JSON',
      acknowledge,
      'application/fhir+json',
      400,
      /a JSON Patch goes with Content-Type/,
    ],
    ['an unknown content type', acknowledge, 'text/plain', 400, /JSON Patch \(Content-Type/],
    ['an unknown operation', [{ op: 'merge', path: '/status' }], PATCH_JSON, 400, /not valid: at operation 0/],
    ['a replace without a value', [{ op: 'replace', path: '/status' }], PATCH_JSON, 400, /needs a value/],
    ['a path that does not exist', [{ op: 'remove', path: '/nosuch' }], PATCH_JSON, 422, /cannot be applied/],
    [
      'a result that is not a valid Task',
      [{ op: 'replace', path: '/status', value: 'bogus' }],
      PATCH_JSON,
      422,
      /status/,
    ],
    [
      'a new id',
      [{ op: 'replace', path: '/id', value: 'other' }],
      PATCH_JSON,
      400,
      /may not change the resourceType or id/,
    ],
    [
      'a new resourceType',
      [{ op: 'replace', path: '/resourceType', value: 'Patient' }],
      PATCH_JSON,
      400,
      /^[^\]]*may not change the resourceType or id of Task/,
    ],
  ] as const)(
    'when the patch is %s, then it is refused with an OperationOutcome saying why',
    async (_what, body, type, status, message) => {
      const t = await newTask();
      const r = await patch('vasteras', `/fhir/Task/${t.id}`, body, type);
      expect(r.status).toBe(status);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(r.body)).toMatch(message);
      expect((await sys.read<Task>('Task', t.id!)).meta?.versionId).toBe('1');
    },
  );

  it('when a hospital that sees a protected Patient only as a recipient patches it, then 403: it would change what it cannot see', async () => {
    const r = await patch('otherEhr', `/fhir/Patient/${ids.p}`, [{ op: 'replace', path: '/gender', value: 'female' }]);
    expect(r.status).toBe(403);
    expect(r.body.issue[0].diagnostics).toMatch(/shown to you in part/);
    const stored = await sys.read<Patient>('Patient', ids.p!);
    expect(stored.address?.[0]?.line).toEqual(['Hemliga vägen 1']);
    // the holding hospital may
    const own = await patch('ehr', `/fhir/Patient/${ids.p}`, [{ op: 'add', path: '/gender', value: 'female' }]);
    expect(own.status).toBe(200);
    expect((await sys.read<Patient>('Patient', ids.p!)).address?.[0]?.line).toEqual(['Hemliga vägen 1']);
  });

  it('when two notes are added by two patches at the same moment, then both are kept', async () => {
    const t = await newTask();
    const add = (text: string) =>
      patch('vasteras', `/fhir/Task/${t.id}`, [{ op: 'add', path: '/note/-', value: { text } }]);
    await patch('vasteras', `/fhir/Task/${t.id}`, [{ op: 'add', path: '/note', value: [] }]);
    const answers = await Promise.all([add('Första'), add('Andra'), add('Tredje')]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const notes = (await sys.read<Task>('Task', t.id!)).note?.map((n) => n.text).sort();
    expect(notes).toEqual(['Andra', 'Första', 'Tredje']);
  });

  describe('PATCH entries in a batch or transaction Bundle (the JSON Patch in a Binary)', () => {
    const binary = (ops: unknown) => ({
      resourceType: 'Binary',
      contentType: PATCH_JSON,
      data: Buffer.from(JSON.stringify(ops)).toString('base64'),
    });
    const entry = (url: string, resource: unknown) => ({ resource, request: { method: 'PATCH', url } });
    const post = (who: string, type: 'batch' | 'transaction', entries: unknown[]) =>
      request(app)
        .post('/fhir')
        .set('x-test-as', who)
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify({ resourceType: 'Bundle', type, entry: entries }));
    const version = async (id: string | undefined) => (await sys.read<Task>('Task', id!)).meta?.versionId;

    it('when the owner acknowledges two Tasks in one transaction, then both are patched and answered 200', async () => {
      const [a, b] = [await newTask(), await newTask()];
      const r = await post('vasteras', 'transaction', [
        entry(`Task/${a.id}`, binary(acknowledge)),
        entry(`Task/${b.id}`, binary(acknowledge)),
      ]);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
        '200 OK',
        '200 OK',
      ]);
      expect(r.body.entry[0].resource).toMatchObject({ status: 'received', meta: { versionId: '2' } });
      for (const t of [a, b]) {
        const stored = await sys.read<Task>('Task', t.id!);
        expect(stored).toMatchObject({ status: 'received', description: 'Inskrivningsmeddelande' });
      }
    });

    it('when one patch of a transaction fails its test, then 409 names the entry and no Task is changed', async () => {
      const [a, b] = [await newTask(), await newTask()];
      await sys.update({ ...b, status: 'cancelled' });
      const r = await post('vasteras', 'transaction', [
        entry(`Task/${a.id}`, binary(acknowledge)),
        entry(`Task/${b.id}`, binary(acknowledge)),
      ]);
      expect(r.status).toBe(409);
      expect(r.body.issue[0].diagnostics).toMatch(/Bundle.entry\[1\] \(PATCH Task\/.*test at '\/status' failed/);
      expect(await version(a.id)).toBe('1');
    });

    it('when a batch mixes a good patch with refused ones, then each entry gets its own answer', async () => {
      const [good, moved, other] = [await newTask(), await newTask(), await newTask()];
      await sys.update({ ...moved, status: 'cancelled' });
      const r = await post('vasteras', 'batch', [
        entry(`Task/${good.id}`, binary(acknowledge)),
        entry(`Task/${moved.id}`, binary(acknowledge)),
        entry(`Task/${other.id}`, { resourceType: 'Parameters', parameter: [] }),
        entry(`Task?identifier=x`, binary(acknowledge)),
        entry(`Task/${other.id}`, undefined),
        entry(`Task/${other.id}`, binary([{ op: 'replace', path: '/status', value: 'bogus' }])),
      ]);
      expect(r.status).toBe(200);
      const answers = r.body.entry.map((e: { response: { status: string; outcome?: unknown } }) => [
        e.response.status.slice(0, 3),
        JSON.stringify(e.response.outcome ?? ''),
      ]);
      expect(answers.map(([status]: string[]) => status)).toEqual(['200', '409', '400', '400', '400', '422']);
      expect(answers[2][1]).toMatch(/FHIRPath Patch is not valid: it has no operation parameter/);
      expect(answers[3][1]).toMatch(/PATCH needs Type\/id/);
      expect(answers[4][1]).toMatch(/as a Binary resource/);
      expect(await version(good.id)).toBe('2');
      expect(await version(other.id)).toBe('1');
      // what the owner may not change is named as an element of the Task, not of the entry's Binary
      const shifted = await post('vasteras', 'batch', [
        entry(`Task/${other.id}`, binary([{ op: 'replace', path: '/restriction/period/end', value: '2027-01-01' }])),
      ]);
      expect(shifted.body.entry[0].response.status).toMatch(/^403/);
      const named = shifted.body.entry[0].response.outcome.issue.flatMap(
        (i: { expression?: string[] }) => i.expression ?? [],
      );
      expect(named).toContain('Task.restriction');
      const audit = await post('admin', 'batch', [entry('AuditEvent/x', binary([{ op: 'remove', path: '/agent' }]))]);
      expect(audit.body.entry[0].response.status).toMatch(/^405/);
    });

    it('when three transactions add a note to one Task at the same moment, then all three notes are kept', async () => {
      const t = await newTask();
      await patch('vasteras', `/fhir/Task/${t.id}`, [{ op: 'add', path: '/note', value: [] }]);
      const add = (text: string) =>
        post('vasteras', 'transaction', [
          entry(`Task/${t.id}`, binary([{ op: 'add', path: '/note/-', value: { text } }])),
        ]);
      const answers = await Promise.all([add('Ett'), add('Två'), add('Tre')]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect((await sys.read<Task>('Task', t.id!)).note?.map((n) => n.text).sort()).toEqual(['Ett', 'Tre', 'Två']);
    });

    it('when another tenant, a client without update scope or a recipient of a protected Patient patches in a Bundle, then 404, 403 and 403', async () => {
      const t = await newTask();
      const as = async (who: string, url: string, ops: unknown) =>
        (await post(who, 'batch', [entry(url, binary(ops))])).body.entry[0].response.status.slice(0, 3);
      expect(await as('otherEhr', `Task/${t.id}`, acknowledge)).toBe('404');
      expect(await as('sala', `Task/${t.id}`, acknowledge)).toBe('403');
      expect(await as('otherEhr', `Patient/${ids.p}`, [{ op: 'replace', path: '/gender', value: 'male' }])).toBe('403');
      const tx = await post('otherEhr', 'transaction', [
        entry(`Patient/${ids.p}`, binary([{ op: 'replace', path: '/gender', value: 'male' }])),
      ]);
      expect(tx.status).toBe(403);
      expect(await version(t.id)).toBe('1');
      expect((await sys.read<Patient>('Patient', ids.p!)).address?.[0]?.line).toEqual(['Hemliga vägen 1']);
    });
  });

  it('when an AuditEvent is patched, then 405', async () => {
    expect((await patch('admin', '/fhir/AuditEvent/x', [{ op: 'remove', path: '/agent' }])).status).toBe(405);
  });
});

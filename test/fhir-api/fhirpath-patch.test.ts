import type { ParametersParameter, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_SYSTEM } from '../../src/fhir/constants';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const FHIR_JSON = 'application/fhir+json';

/** One `operation` parameter of a FHIRPath Patch: its type and path, then the other parts. */
const op = (type: string, path: string, ...parts: ParametersParameter[]): ParametersParameter => ({
  name: 'operation',
  part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...parts],
});
const fhirPatch = (...ops: ParametersParameter[]) => ({ resourceType: 'Parameters', parameter: ops });
const named = (name: string): ParametersParameter => ({ name: 'name', valueString: name });
const int = (name: string, n: number): ParametersParameter => ({ name, valueInteger: n });

describe.each(testDatabases())('PATCH with a FHIRPath Patch on %s', (kind) => {
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
    const p = await hospital.create(patient(pnr('19400202', '123')), w);
    const e = await hospital.create(encounter('E-fhirpath-patch', `Patient/${p.id}`), w);
    Object.assign(ids, { v: v.id!, p: p.id!, e: e.id! });
    app = testApp(db, await createValidator(), testClients(v.id!, s.id!));
  });
  afterAll(async () => db.close());

  const newTask = async (extra: Partial<Task> = {}) =>
    sys.create<Task>(
      task('inskrivningsmeddelande', `Organization/${ids.v}`, `Patient/${ids.p}`, `Encounter/${ids.e}`, {
        requester: { reference: 'Organization/hosp' },
        description: 'Inskrivningsmeddelande',
        restriction: { period: { end: '2026-01-11T09:00:00Z' } },
        ...extra,
      }),
    );
  const patch = (who: string, url: string, body: unknown, type = FHIR_JSON, ifMatch?: string) => {
    const r = request(app).patch(url).set('x-test-as', who).set('Content-Type', type);
    return (ifMatch ? r.set('If-Match', ifMatch) : r).send(JSON.stringify(body));
  };
  const stored = async (id: string | undefined) => sys.read<Task>('Task', id!);
  const receive = op('replace', 'Task.status', { name: 'value', valueCode: 'received' });
  const notes = [{ text: 'Första' }, { text: 'Andra' }, { text: 'Tredje' }];

  it('when the owner replaces Task.status and adds a note as an Annotation in parts, then only those change and a new version is stored', async () => {
    const t = await newTask();
    const note = op('add', 'Task', named('note'), {
      name: 'value',
      part: [
        { name: 'text', valueString: 'Mottaget av biståndshandläggare' },
        { name: 'time', valueDateTime: '2026-01-10T10:00:00Z' },
      ],
    });
    const r = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(receive, note));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      status: 'received',
      note: [{ text: 'Mottaget av biståndshandläggare', time: '2026-01-10T10:00:00Z' }],
      meta: { versionId: '2' },
    });
    expect(r.headers.etag).toBe('W/"2"');
    const s = await stored(t.id);
    expect(s).toMatchObject({ status: 'received', description: 'Inskrivningsmeddelande' });
    expect(s.restriction?.period?.end).toBe('2026-01-11T09:00:00Z');
    // application/json is a FHIRPath Patch too; a second add appends to the list
    const again = await patch(
      'vasteras',
      `/fhir/Task/${t.id}`,
      fhirPatch(op('add', 'Task', named('note'), { name: 'value', part: [{ name: 'text', valueString: 'Två' }] })),
      'application/json',
    );
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect((await stored(t.id)).note?.map((n) => n.text)).toEqual(['Mottaget av biståndshandläggare', 'Två']);
  });

  it('when the owner sets Task.businessStatus to a CodeableConcept in parts, then its coding is a list as FHIR has it', async () => {
    const t = await newTask({ businessStatus: { text: 'Ny' } });
    const concept = {
      name: 'value',
      part: [
        {
          name: 'coding',
          part: [
            { name: 'system', valueUri: 'urn:oid:1.2.752.29.4.1' },
            { name: 'code', valueCode: 'planering' },
          ],
        },
        { name: 'text', valueString: 'Planering pågår' },
      ],
    };
    const r = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(op('replace', 'Task.businessStatus', concept)));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await stored(t.id)).businessStatus).toEqual({
      coding: [{ system: 'urn:oid:1.2.752.29.4.1', code: 'planering' }],
      text: 'Planering pågår',
    });
  });

  it('when the owner deletes a note by a where() filter, inserts one at an index and moves one, then the list is in that order; a delete that selects nothing changes nothing', async () => {
    const t = await newTask({ note: notes });
    const r = await patch(
      'vasteras',
      `/fhir/Task/${t.id}`,
      fhirPatch(
        op('delete', "Task.note.where(text = 'Andra')"),
        op('insert', 'Task.note', int('index', 1), { name: 'value', part: [{ name: 'text', valueString: 'Ny' }] }),
        op('move', 'Task.note', int('source', 2), int('destination', 0)),
        op('delete', 'Task.statusReason'),
      ),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await stored(t.id)).note?.map((n) => n.text)).toEqual(['Tredje', 'Första', 'Ny']);
    const last = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(op('delete', 'Task.note[2].text')));
    expect(last.status, JSON.stringify(last.body)).toBe(422); // a note without text is not valid FHIR (ele-1)
    const whole = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(op('delete', 'Task.note.last()')));
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    expect((await stored(t.id)).note?.map((n) => n.text)).toEqual(['Tredje', 'Första']);
  });

  it.each([
    [
      'a replace whose path selects two notes',
      fhirPatch(op('replace', 'Task.note.text', { name: 'value', valueString: 'x' })),
      422,
      /operation 0 \(replace 'Task\.note\.text'\) cannot be applied: the path selects 2 elements, not exactly one/,
    ],
    [
      'a delete whose path selects two notes',
      fhirPatch(receive, op('delete', 'Task.note')),
      422,
      /operation 1 \(delete 'Task\.note'\).*selects 2 elements, not one or none/,
    ],
    [
      'a replace of an element that is not there',
      fhirPatch(op('replace', 'Task.statusReason', { name: 'value', part: [{ name: 'text', valueString: 'x' }] })),
      422,
      /selects 0 elements/,
    ],
    [
      'an insert beyond the list',
      fhirPatch(
        op('insert', 'Task.note', int('index', 5), { name: 'value', part: [{ name: 'text', valueString: 'x' }] }),
      ),
      422,
      /index 5 is beyond the list's 2 elements/,
    ],
    [
      'an add of a single element that is there',
      fhirPatch(op('add', 'Task', named('status'), { name: 'value', valueCode: 'received' })),
      422,
      /status is already there and does not repeat/,
    ],
    [
      'an unknown operation type',
      fhirPatch(op('merge', 'Task.status')),
      400,
      /operation 0 has the unknown type 'merge'/,
    ],
    [
      'a path that is not FHIRPath',
      fhirPatch(op('delete', 'Task.note[')),
      400,
      /operation 0 \(delete 'Task\.note\['\): the path is not FHIRPath/,
    ],
    ['a replace without a value', fhirPatch(op('replace', 'Task.status')), 400, /needs a 'value' part/],
    ['a Parameters without operations', fhirPatch(), 400, /has no operation parameter/],
    [
      'another resource as body',
      { resourceType: 'Task', status: 'received' },
      400,
      /FHIRPath Patch \(a Parameters resource\), not a Task/,
    ],
    [
      'a new id',
      fhirPatch(op('replace', 'Task.id', { name: 'value', valueString: 'other' })),
      400,
      /may not change the resourceType or id/,
    ],
    [
      'a result that is not a valid Task',
      fhirPatch(op('replace', 'Task.status', { name: 'value', valueCode: 'bogus' })),
      422,
      /status/,
    ],
  ] as const)(
    'when the FHIRPath Patch is %s, then it is refused with an OperationOutcome saying why',
    async (_what, body, status, message) => {
      const t = await newTask({ note: notes.slice(0, 2) });
      const r = await patch('vasteras', `/fhir/Task/${t.id}`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(r.body)).toMatch(message);
      expect((await stored(t.id)).meta?.versionId).toBe('1');
    },
  );

  it('when the owner changes what it may not change through JSON Patch either (the deadline, the gateway’s deadline status), a client without scope patches, or If-Match is stale, then 403, 403, 403 and 412', async () => {
    const t = await newTask();
    const moved = await patch(
      'vasteras',
      `/fhir/Task/${t.id}`,
      fhirPatch(op('replace', 'Task.restriction.period.end', { name: 'value', valueDateTime: '2027-01-01T00:00:00Z' })),
    );
    expect(moved.status).toBe(403);
    expect(moved.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(
      'Task.restriction',
    );
    const deadline = await patch(
      'vasteras',
      `/fhir/Task/${t.id}`,
      fhirPatch(
        op('add', 'Task', named('businessStatus'), {
          name: 'value',
          part: [
            {
              name: 'coding',
              part: [
                { name: 'system', valueUri: CODE_SYSTEM.taskBusinessStatus },
                { name: 'code', valueCode: 'on-time' },
              ],
            },
          ],
        }),
      ),
    );
    expect(deadline.status).toBe(403);
    expect(JSON.stringify(deadline.body)).toMatch(/set by the gateway/);
    expect((await patch('sala', `/fhir/Task/${t.id}`, fhirPatch(receive))).status).toBe(403); // no update scope
    expect((await patch('otherEhr', `/fhir/Task/${t.id}`, fhirPatch(receive))).status).toBe(404); // not its Task
    const stale = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(receive), FHIR_JSON, 'W/"7"');
    expect(stale.status).toBe(412);
    expect((await stored(t.id)).meta?.versionId).toBe('1');
    const current = await patch('vasteras', `/fhir/Task/${t.id}`, fhirPatch(receive), FHIR_JSON, 'W/"1"');
    expect(current.status, JSON.stringify(current.body)).toBe(200);
  });

  it('when a client reads the CapabilityStatement, then it lists both patch formats', async () => {
    const r = await request(app).get('/fhir/metadata');
    expect(r.body.patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json']);
  });

  it('when an AuditEvent is patched with a FHIRPath Patch, then 405', async () => {
    expect((await patch('admin', '/fhir/AuditEvent/x', fhirPatch(op('delete', 'AuditEvent.agent')))).status).toBe(405);
  });

  describe('PATCH entries in a batch or transaction Bundle (the Parameters as the entry resource)', () => {
    const entry = (url: string, resource: unknown, ifMatch?: string) => ({
      resource,
      request: { method: 'PATCH', url, ...(ifMatch ? { ifMatch } : {}) },
    });
    const post = (who: string, type: 'batch' | 'transaction', entries: unknown[]) =>
      request(app)
        .post('/fhir')
        .set('x-test-as', who)
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'Bundle', type, entry: entries }));

    it('when the owner acknowledges two Tasks in one transaction, then both are patched and answered 200', async () => {
      const [a, b] = [await newTask(), await newTask()];
      const r = await post('vasteras', 'transaction', [
        entry(`Task/${a.id}`, fhirPatch(receive)),
        entry(
          `Task/${b.id}`,
          fhirPatch(
            receive,
            op('add', 'Task', named('note'), { name: 'value', part: [{ name: 'text', valueString: 'Ok' }] }),
          ),
        ),
      ]);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
        '200 OK',
        '200 OK',
      ]);
      expect(r.body.entry[1].resource).toMatchObject({
        status: 'received',
        note: [{ text: 'Ok' }],
        meta: { versionId: '2' },
      });
      expect((await stored(a.id)).status).toBe('received');
    });

    it('when one entry of a transaction cannot be applied or its If-Match is stale, then the transaction fails naming the entry and no Task is changed', async () => {
      const [a, b] = [await newTask({ note: notes }), await newTask()];
      const r = await post('vasteras', 'transaction', [
        entry(`Task/${b.id}`, fhirPatch(receive)),
        entry(`Task/${a.id}`, fhirPatch(op('replace', 'Task.note.text', { name: 'value', valueString: 'x' }))),
      ]);
      expect(r.status).toBe(422);
      expect(r.body.issue[0].diagnostics).toMatch(/Bundle\.entry\[1\].*operation 0 \(replace 'Task\.note\.text'\)/);
      const stale = await post('vasteras', 'transaction', [
        entry(`Task/${b.id}`, fhirPatch(receive)),
        entry(`Task/${a.id}`, fhirPatch(receive), 'W/"9"'),
      ]);
      expect(stale.status).toBe(412);
      expect((await stored(a.id)).meta?.versionId).toBe('1');
      expect((await stored(b.id)).meta?.versionId).toBe('1');
    });

    it('when a batch mixes a good FHIRPath Patch with refused ones, then each entry gets its own answer and the owner rules apply', async () => {
      const [good, other] = [await newTask(), await newTask()];
      const r = await post('vasteras', 'batch', [
        entry(`Task/${good.id}`, fhirPatch(receive)),
        entry(`Task/${other.id}`, fhirPatch(op('merge', 'Task.status'))),
        entry(`Task/${other.id}`, { resourceType: 'Parameters', parameter: [] }),
        entry(
          `Task/${other.id}`,
          fhirPatch(
            op('replace', 'Task.restriction.period.end', { name: 'value', valueDateTime: '2027-01-01T00:00:00Z' }),
          ),
        ),
        entry(`Task/${other.id}`, { resourceType: 'Task', status: 'received' }),
      ]);
      expect(r.status).toBe(200);
      const answers = r.body.entry.map((e: { response: { status: string; outcome?: unknown } }) => [
        e.response.status.slice(0, 3),
        JSON.stringify(e.response.outcome ?? ''),
      ]);
      expect(answers.map(([status]: string[]) => status)).toEqual(['200', '400', '400', '403', '400']);
      expect(answers[1][1]).toMatch(/unknown type 'merge'/);
      expect(answers[2][1]).toMatch(/no operation parameter/);
      expect(answers[3][1]).toMatch(/Task\.restriction/);
      expect(answers[4][1]).toMatch(/or its FHIRPath Patch as a Parameters resource, not Task/);
      expect((await stored(good.id)).status).toBe('received');
      expect((await stored(other.id)).meta?.versionId).toBe('1');
    });
  });
});

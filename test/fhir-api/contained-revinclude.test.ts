import type { Bundle, CapabilityStatement, Patient, Resource, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/auth/auth-context';
import { SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const PROTECTED = { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] };

function byMode(b: Bundle, mode: 'match' | 'include'): Resource[] {
  return (b.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => e.resource!);
}
const keys = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id ?? ''}`).sort();

describe.each(testDatabases())('contained resources and _revinclude under scope and tenant rules on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    const sys = createRepository(db);
    ids.vasteras = (await sys.create(municipality('1980', 'Västerås stad'))).id!;
    ids.sala = (await sys.create(municipality('1981', 'Sala kommun'))).id!;
    const clients: Record<string, AuthContext> = testClients(ids.vasteras, ids.sala);
    // the same municipality with a token narrowed to Tasks only, and one without Task scope
    clients.taskOnly = { ...clients.vasteras!, clientId: 'vasteras-tasks', scopes: ['system/Task.rs'] };
    clients.noTask = {
      ...clients.vasteras!,
      clientId: 'vasteras-no-task',
      scopes: ['system/Patient.rs', 'system/Encounter.rs'],
    };
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const hospital = createRepository(db, {
      clientId: 'demo-ehr',
      organization: 'Organization/hosp',
      role: 'hospital',
    });
    const p = await hospital.create(
      {
        ...patient(pnr('19400101', '123')),
        meta: PROTECTED,
        address: [{ line: ['Hemliga vägen 1'], city: 'Västerås' }],
        telecom: [{ system: 'phone', value: '021-123456' }],
      },
      w,
    );
    const e = await hospital.create(encounter('E-1', `Patient/${p.id}`), w);
    const req = { requester: { reference: 'Organization/hosp' } };
    // one stay, a Task for each municipality
    const tv = await sys.create(
      task('inskrivningsmeddelande', `Organization/${ids.vasteras}`, `Patient/${p.id}`, `Encounter/${e.id}`, req),
    );
    const ts = await sys.create(
      task('inskrivningsmeddelande', `Organization/${ids.sala}`, `Patient/${p.id}`, `Encounter/${e.id}`, req),
    );
    // a Task of Västerås that carries its patient contained (protected identity)
    const tc = await sys.create(
      task('inskrivningsmeddelande', `Organization/${ids.vasteras}`, '#pat', `Encounter/${e.id}`, {
        ...req,
        contained: [
          {
            ...patient(pnr('19400101', '123')),
            id: 'pat',
            meta: PROTECTED,
            address: [{ line: ['Hemliga vägen 1'], city: 'Västerås' }],
            telecom: [{ system: 'phone', value: '021-123456' }],
          },
        ],
      }),
    );
    Object.assign(ids, { p: p.id!, e: e.id!, tv: tv.id!, ts: ts.id!, tc: tc.id! });
    app = testApp(db, await createValidator(), clients);
  });
  afterAll(async () => {
    await db.close();
  });

  const get = (who: string, url: string) => request(app).get(url).set('x-test-as', who);

  describe('contained resources', () => {
    const containedOf = (r: { contained?: Resource[] }) => r.contained ?? [];
    const redacted = (r: Resource) => (r.meta?.security ?? []).some((c) => c.code === 'REDACTED');

    it('when a token with only Task.rs reads, vreads, searches or reads the history of a Task, then its contained Patient is left out and the Task is labelled REDACTED', async () => {
      const answers: Resource[] = [];
      for (const url of [`/fhir/Task/${ids.tc}`, `/fhir/Task/${ids.tc}/_history/1`]) {
        const r = await get('taskOnly', url);
        expect(r.status, url).toBe(200);
        answers.push(r.body as Task);
      }
      for (const url of [`/fhir/Task?_id=${ids.tc}`, `/fhir/Task/${ids.tc}/_history`, '/fhir/Task/_history']) {
        const r = await get('taskOnly', url);
        expect(r.status, url).toBe(200);
        const found = ((r.body as Bundle).entry ?? []).map((x) => x.resource!).filter((x) => x.id === ids.tc);
        expect(found.length, url).toBeGreaterThan(0);
        answers.push(...found);
      }
      for (const t of answers) {
        expect(containedOf(t as Task)).toEqual([]);
        expect(redacted(t)).toBe(true);
        expect((t as Task).for?.reference).toBe('#pat');
      }
    });

    it('when a token with only Task.rs reads the Task in a batch, then the contained Patient is left out too', async () => {
      const r = await request(app)
        .post('/fhir')
        .set('x-test-as', 'taskOnly')
        .set('Content-Type', 'application/fhir+json')
        .send(
          JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              { request: { method: 'GET', url: `Task/${ids.tc}` } },
              { request: { method: 'GET', url: `Task?_id=${ids.tc}` } },
            ],
          }),
        );
      expect(r.status).toBe(200);
      const [read, search] = (r.body as Bundle).entry ?? [];
      expect(containedOf(read!.resource as Task)).toEqual([]);
      const inner = ((search!.resource as Bundle).entry ?? [])[0]!.resource as Task;
      expect(containedOf(inner)).toEqual([]);
      expect(redacted(inner)).toBe(true);
    });

    it('when the owning municipality with Patient.rs reads the Task, then the contained Patient is there without address and telecom', async () => {
      const r = await get('vasteras', `/fhir/Task/${ids.tc}`);
      expect(r.status).toBe(200);
      const [c] = containedOf(r.body as Task) as Patient[];
      expect(c?.resourceType).toBe('Patient');
      expect(c?.address).toBeUndefined();
      expect(c?.telecom).toBeUndefined();
      expect(redacted(r.body as Task)).toBe(false);
    });

    it('when an admin reads the Task, then the contained Patient is whole', async () => {
      const r = await get('admin', `/fhir/Task/${ids.tc}`);
      expect(r.status).toBe(200);
      expect(containedOf(r.body as Task)).toHaveLength(1);
    });
  });

  describe('_revinclude', () => {
    it("when Västerås searches a Patient with _revinclude=Task:patient, then it gets its own Task and not Sala's", async () => {
      const r = await get('vasteras', `/fhir/Patient?_id=${ids.p}&_revinclude=Task:patient`);
      expect(r.status).toBe(200);
      const b = r.body as Bundle;
      expect(keys(byMode(b, 'match'))).toEqual([`Patient/${ids.p}`]);
      expect(keys(byMode(b, 'include'))).toEqual([`Task/${ids.tv}`]);
      // and the protected Patient is cleaned as on a direct read
      expect((byMode(b, 'match')[0] as Patient).address).toBeUndefined();
    });

    it("when Sala searches an Encounter with _revinclude=Task:encounter, then it gets its own Task and not Västerås's", async () => {
      const r = await get('sala', `/fhir/Encounter?_id=${ids.e}&_revinclude=Task:encounter`);
      expect(r.status).toBe(200);
      expect(keys(byMode(r.body as Bundle, 'include'))).toEqual([`Task/${ids.ts}`]);
    });

    it('when Västerås revincludes Tasks by encounter, then the Tasks it owns come, each once, contained Patients cleaned', async () => {
      const r = await get(
        'vasteras',
        `/fhir/Encounter?_id=${ids.e}&_revinclude=Task:encounter&_revinclude=Task:subject`,
      );
      expect(r.status).toBe(200);
      const inc = byMode(r.body as Bundle, 'include');
      expect(keys(inc)).toEqual([`Task/${ids.tc}`, `Task/${ids.tv}`].sort());
      const tc = inc.find((x) => x.id === ids.tc) as Task;
      expect((tc.contained?.[0] as Patient).address).toBeUndefined();
    });

    it('when an admin revincludes, then every Task of the stay comes', async () => {
      const r = await get('admin', `/fhir/Encounter?_id=${ids.e}&_revinclude=Task:encounter`);
      expect(keys(byMode(r.body as Bundle, 'include'))).toEqual(
        [`Task/${ids.tv}`, `Task/${ids.ts}`, `Task/${ids.tc}`].sort(),
      );
    });

    it('when a token without Task.r revincludes Tasks, then it gets 403 and no Task', async () => {
      const r = await get('noTask', `/fhir/Patient?_id=${ids.p}&_revinclude=Task:patient`);
      expect(r.status).toBe(403);
      expect(JSON.stringify(r.body)).not.toContain(ids.tv);
    });

    it('when a _revinclude is unsupported, then 400 OperationOutcome names it', async () => {
      for (const v of ['Task:owner:Encounter', 'Task:status', 'Nope:patient', 'Encounter:patient:Encounter', 'Task']) {
        const r = await get('admin', `/fhir/Patient?_revinclude=${encodeURIComponent(v)}`);
        expect(r.status, v).toBe(400);
        expect(r.body.resourceType).toBe('OperationOutcome');
        expect(JSON.stringify(r.body), v).toContain(v);
      }
      // Task:patient never points to an Encounter
      const r = await get('admin', `/fhir/Encounter?_revinclude=Task:patient`);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toContain('Task:patient');
    });

    it('when a batch GET entry revincludes, then the tenant rules hold there too', async () => {
      const r = await request(app)
        .post('/fhir')
        .set('x-test-as', 'vasteras')
        .set('Content-Type', 'application/fhir+json')
        .send(
          JSON.stringify({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [{ request: { method: 'GET', url: `Patient?_id=${ids.p}&_revinclude=Task:patient` } }],
          }),
        );
      expect(r.status).toBe(200);
      const inner = ((r.body as Bundle).entry ?? [])[0]!.resource as Bundle;
      expect(keys(byMode(inner, 'include'))).toEqual([`Task/${ids.tv}`]);
    });

    it('the CapabilityStatement lists Task:patient and Task:encounter in searchRevInclude', async () => {
      const r = await get('admin', '/fhir/metadata');
      const rest = (r.body as CapabilityStatement).rest?.[0]?.resource ?? [];
      expect(rest.find((x) => x.type === 'Patient')?.searchRevInclude).toContain('Task:patient');
      expect(rest.find((x) => x.type === 'Encounter')?.searchRevInclude).toContain('Task:encounter');
      expect(rest.find((x) => x.type === 'Encounter')?.searchRevInclude).not.toContain('Task:patient');
    });
  });
});

import type { AuditEvent, Bundle, CapabilityStatement, Task } from '@medplum/fhirtypes';
import express, { type Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMiddleware } from '../../src/audit/audit.middleware';
import { createAuditWriter, type AuditSink } from '../../src/audit/audit-writer';
import type { AuthContext } from '../../src/auth/auth-context';
import { CANONICAL_BASE, IDENTIFIER_SYSTEM, SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { createValidator } from '../../src/fhir/validator';
import { systemClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const FHIR = 'application/fhir+json';

/** The elements an OperationOutcome names (`issue.expression`). */
function named(body: { issue?: { expression?: string[] }[] }): string[] {
  return (body.issue ?? []).flatMap((i) => i.expression ?? []);
}

describe.each(testDatabases())('read rules, Task owner rules and the audit trail over HTTP on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  let audit: AuditSink;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    const sys = createRepository(db);
    ids.vasteras = (await sys.create(municipality('1980', 'Västerås stad'))).id!;
    ids.sala = (await sys.create(municipality('1981', 'Sala kommun'))).id!;
    const clients: Record<string, AuthContext> = testClients(ids.vasteras, ids.sala);
    const vasteras = clients.vasteras!;
    // the same municipality with a token narrowed to Tasks only
    clients.taskOnly = { ...vasteras, clientId: 'vasteras-tasks', scopes: ['system/Task.rs'] };
    clients.encounterOnly = { ...vasteras, clientId: 'vasteras-encounters', scopes: ['system/Encounter.rs'] };
    clients.noPatients = {
      ...vasteras,
      clientId: 'vasteras-no-patients',
      scopes: ['system/Task.rs', 'system/Encounter.rs'],
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
        meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] },
        address: [{ line: ['Hemliga vägen 1'], city: 'Västerås' }],
        telecom: [{ system: 'phone', value: '021-123456' }],
      },
      w,
    );
    const e = await hospital.create(encounter('E-1', `Patient/${p.id}`), w);
    const t = await sys.create(
      task('inskrivningsmeddelande', `Organization/${ids.vasteras}`, `Patient/${p.id}`, `Encounter/${e.id}`, {
        requester: { reference: 'Organization/hosp' },
        description: 'Inskrivningsmeddelande',
        restriction: { period: { end: '2026-01-11T09:00:00Z' } },
      }),
    );
    ids.p = p.id!;
    ids.t = t.id!;
    audit = createAuditWriter({
      db,
      repository: (tx) => createRepository(tx, { system: true }),
      logger: createLogger('error'),
    });
    app = express();
    app.use('/fhir', auditMiddleware(audit, systemClock, CANONICAL_BASE));
    app.use(testApp(db, await createValidator(), clients));
  });
  afterAll(async () => {
    await audit.close();
    await db.close();
  });

  const get = (who: string, url: string) => request(app).get(url).set('x-test-as', who);
  const send = (who: string, method: 'post' | 'put' | 'delete' | 'patch', url: string, body?: unknown) => {
    const r = request(app)[method](url).set('x-test-as', who);
    return body === undefined ? r : r.set('Content-Type', FHIR).send(JSON.stringify(body));
  };
  const readTask = async (): Promise<Task> => (await get('admin', `/fhir/Task/${ids.t}`)).body as Task;

  it('when the owning municipality reads the protected Patient over HTTP, then address and telecom are left out', async () => {
    for (const url of [`/fhir/Patient/${ids.p}`, `/fhir/Patient/${ids.p}/_history/1`]) {
      const r = await get('vasteras', url);
      expect(r.status).toBe(200);
      expect(r.body.address).toBeUndefined();
      expect(r.body.telecom).toBeUndefined();
    }
    const s = await get('vasteras', '/fhir/Task?_include=Task:patient');
    const included = (s.body as Bundle).entry?.find((x) => x.search?.mode === 'include')?.resource;
    expect(included).toMatchObject({ resourceType: 'Patient', id: ids.p });
    expect(included).not.toHaveProperty('address');
  });

  it('when a Task-only token includes Task:patient, then it gets 403 as on GET Patient/<id>', async () => {
    expect((await get('taskOnly', `/fhir/Patient/${ids.p}`)).status).toBe(403);
    const r = await get('taskOnly', '/fhir/Task?_include=Task:patient');
    expect(r.status).toBe(403);
    expect(r.body.issue[0].diagnostics).toContain('Patient');
  });

  it('when a token iterates includes through a type it may not read, then 403; a token that may read it gets the stay and its patient', async () => {
    const url = '/fhir/Task?_include=Task:encounter&_include:iterate=Encounter:patient';
    const refused = await get(
      'encounterOnly',
      url.replace('Task?', 'Encounter?').replace('_include=Task:encounter&', ''),
    );
    expect(refused.status).toBe(403); // Encounter:patient reaches Patients only
    const viaTasks = await get('taskOnly', '/fhir/Task?_include:iterate=Encounter:service-provider');
    expect(viaTasks.status).toBe(403); // follows references inside Encounters, which the token may not read
    expect(viaTasks.body.issue[0].diagnostics).toContain('Encounter');
    const r = await get('vasteras', url);
    expect(r.status).toBe(200);
    const included = ((r.body as Bundle).entry ?? []).filter((x) => x.search?.mode === 'include');
    expect(included.map((x) => x.resource?.resourceType).sort()).toEqual(['Encounter', 'Patient']);
    const other = await get('sala', url);
    expect(((other.body as Bundle).entry ?? []).length).toBe(0);
  });

  it('when a Task-only token chains into the Patient, then 403; a token that may search Patients gets its Task', async () => {
    const chain = `/fhir/Task?patient.identifier=${encodeURIComponent(pnr('19400101', '123'))}`;
    const refused = await get('taskOnly', chain);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toContain('Patient');
    const r = await get('vasteras', chain);
    expect(r.status).toBe(200);
    expect((r.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([ids.t]);
    const other = await get('sala', chain);
    expect(other.status).toBe(200);
    expect(other.body.entry ?? []).toEqual([]);
  });

  it('when a chain of two links passes through a type the token may not search, then 403 naming it; with scope it finds the Task', async () => {
    const chain = `/fhir/Task?encounter.patient.identifier=${encodeURIComponent(pnr('19400101', '123'))}`;
    const refused = await get('noPatients', chain);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toContain('Patient');
    const r = await get('vasteras', chain);
    expect(r.status).toBe(200);
    expect((r.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([ids.t]);
    expect(((await get('sala', chain)).body as Bundle).entry ?? []).toEqual([]);
  });

  it('when a token that may not search Tasks asks for stays by their Tasks (_has), then 403; with Task scope it finds its stay', async () => {
    const url = `/fhir/Encounter?_has:Task:encounter:owner=Organization/${ids.vasteras}`;
    const refused = await get('encounterOnly', url);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toContain('Task');
    const r = await get('vasteras', url);
    expect(r.status).toBe(200);
    expect((r.body as Bundle).entry).toHaveLength(1);
    const other = await get('sala', url);
    expect(other.status).toBe(200);
    expect((other.body as Bundle).entry ?? []).toEqual([]);
  });

  it('when a Task-only token includes an any-type reference, then the Patient is left out and an outcome says so', async () => {
    const r = await get('taskOnly', '/fhir/Task?_include=Task:subject&_include=Task:encounter');
    expect(r.status).toBe(200);
    const entries = (r.body as Bundle).entry ?? [];
    expect(entries.filter((x) => x.search?.mode === 'match').map((x) => x.resource?.id)).toEqual([ids.t]);
    expect(entries.some((x) => x.search?.mode === 'include')).toBe(false);
    const outcome = entries.find((x) => x.search?.mode === 'outcome')?.resource;
    expect(JSON.stringify(outcome)).toContain('system/Patient.r');
  });

  it('when a Task-only token includes through a batch entry, then the same rules hold there', async () => {
    const r = await send('taskOnly', 'post', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Task?_include=Task:patient' } },
        { request: { method: 'GET', url: 'Task?_include=Task:subject' } },
      ],
    });
    expect(r.status).toBe(200);
    const [first, second] = (r.body as Bundle).entry ?? [];
    expect(first?.response?.status).toMatch(/^403/);
    const set = second?.resource as Bundle;
    expect(set.entry?.some((x) => x.resource?.resourceType === 'Patient')).toBe(false);
    expect(set.entry?.some((x) => x.search?.mode === 'outcome')).toBe(true);
  });

  it('when the owner PUTs its Task with another owner, then 403 names Task.owner, nothing is stored, and it is audited', async () => {
    const t = await readTask();
    const r = await send('vasteras', 'put', `/fhir/Task/${ids.t}`, {
      ...t,
      owner: { reference: `Organization/${ids.sala}` },
    });
    expect(r.status).toBe(403);
    expect(named(r.body)).toEqual(['Task.owner']);
    expect((await readTask()).owner?.reference).toBe(`Organization/${ids.vasteras}`);
    expect((await get('sala', `/fhir/Task/${ids.t}`)).status).toBe(404);
    await audit.flush();
    const events = (await get('admin', '/fhir/AuditEvent?_count=1000')).body as Bundle<AuditEvent>;
    const refused = events.entry?.map((x) => x.resource).find((a) => a?.outcomeDesc?.includes('Task.owner'));
    expect(refused).toMatchObject({ outcome: '4', action: 'U' });
  });

  it('when the owner changes for, restriction, description or requester, then each is refused by name', async () => {
    const t = await readTask();
    for (const [path, change] of [
      ['Task.for', { for: { reference: 'Patient/other' } }],
      ['Task.restriction', { restriction: { period: { end: '2027-01-01T00:00:00Z' } } }],
      ['Task.description', { description: 'Ändrad' }],
      ['Task.requester', { requester: { reference: `Organization/${ids.vasteras}` } }],
    ] as const) {
      const r = await send('vasteras', 'put', `/fhir/Task/${ids.t}`, { ...t, ...change });
      expect(r.status, path).toBe(403);
      expect(named(r.body)).toEqual([path]);
    }
  });

  it('when the owner acknowledges with a note, then it is stored; cancelling or going back is refused', async () => {
    const t = await readTask();
    const ok = await send('vasteras', 'put', `/fhir/Task/${ids.t}`, {
      ...t,
      status: 'received',
      note: [{ text: 'Mottaget' }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('received');
    const now = await readTask();
    for (const status of ['cancelled', 'requested', 'completed'] as const) {
      const r = await send('vasteras', 'put', `/fhir/Task/${ids.t}`, { ...now, status });
      expect(r.status, status).toBe(403);
      expect(named(r.body)).toEqual(['Task.status']);
    }
  });

  it('when the owner answers a Task whose deadline the hospital moved since it read it, then 409 says read it again', async () => {
    const sys = createRepository(db);
    const t = await sys.create(
      task('inskrivningsmeddelande', `Organization/${ids.vasteras}`, `Patient/${ids.p}`, 'Encounter/E-stale', {
        requester: { reference: 'Organization/hosp' },
        restriction: { period: { end: '2026-01-11T09:00:00Z' } },
      }),
    );
    const read = (await get('vasteras', `/fhir/Task/${t.id}`)).body as Task;
    // meanwhile the hospital's update moves the deadline
    await sys.update({ ...t, restriction: { period: { end: '2026-01-12T09:00:00Z' } } });
    const stale = await send('vasteras', 'put', `/fhir/Task/${t.id}`, { ...read, status: 'received' });
    expect(stale.status).toBe(409);
    expect(stale.body.issue?.[0]?.diagnostics).toMatch(
      /changed since version 1 was read \(it is at version 2: Task.restriction differ\): read it again/,
    );
    // a body without a version stays a refusal of the element itself
    const { meta: _meta, ...unversioned } = read;
    expect((await send('vasteras', 'put', `/fhir/Task/${t.id}`, { ...unversioned, status: 'received' })).status).toBe(
      403,
    );
    const again = (await get('vasteras', `/fhir/Task/${t.id}`)).body as Task;
    const ok = await send('vasteras', 'put', `/fhir/Task/${t.id}`, { ...again, status: 'received' });
    expect(ok.status).toBe(200);
    expect(ok.body.restriction.period.end).toBe('2026-01-12T09:00:00Z');
  });

  /** A new admission notice to Västerås on the first Task's stay, requested by the other hospital (which may PUT Tasks). */
  const otherHospitalsTask = async (extra: Partial<Task> = {}): Promise<Task> => {
    const first = (await get('admin', `/fhir/Task/${ids.t}`)).body as Task;
    return createRepository(db).create(
      task(
        'inskrivningsmeddelande',
        `Organization/${ids.vasteras}`,
        first.for!.reference!,
        first.encounter!.reference!,
        {
          requester: { reference: 'Organization/other-hosp' },
          ...extra,
        },
      ),
    );
  };

  it('when the requester hands a Task to another municipality, then the owner before, which answered it, may no longer read or change it', async () => {
    const handed = await otherHospitalsTask();
    const url = `/fhir/Task/${handed.id}`;
    const acked = await send('vasteras', 'put', url, { ...handed, status: 'received' });
    expect(acked.status).toBe(200);
    const moved = await send('otherEhr', 'put', url, {
      ...(acked.body as Task),
      owner: { reference: `Organization/${ids.sala}` },
    });
    expect(moved.status).toBe(200);
    const now = moved.body as Task;
    for (const change of [
      { owner: { reference: `Organization/${ids.vasteras}` } },
      { status: 'cancelled' as const },
      { note: [{ text: 'Vi tar tillbaka den' }] },
    ]) {
      const r = await send('vasteras', 'put', url, { ...now, ...change });
      expect(r.status, JSON.stringify(change)).toBe(404);
    }
    // nor read it, its history or find it: it is another municipality's now (the version it wrote included)
    expect((await get('vasteras', url)).status).toBe(404);
    expect((await get('vasteras', `${url}/_history/2`)).status).toBe(404);
    const found = (await get('vasteras', `/fhir/Task?_id=${handed.id}`)).body as Bundle;
    expect(found.entry ?? []).toEqual([]);
    const stored = (await get('admin', url)).body as Task;
    expect([stored.owner?.reference, stored.status, stored.meta?.versionId]).toEqual([
      `Organization/${ids.sala}`,
      'received',
      now.meta?.versionId,
    ]);
    // the new owner reads it
    expect((await get('sala', url)).status).toBe(200);
  });

  it("when the requester hands a Task the gateway derived from the stay to another municipality, then 422 says the owner follows the stay's routing, and nothing changes", async () => {
    const derived = await otherHospitalsTask({
      identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: 'stay-1|inskrivningsmeddelande@municipality:1980' }],
    });
    const url = `/fhir/Task/${derived.id}`;
    const r = await send('otherEhr', 'put', url, { ...derived, owner: { reference: `Organization/${ids.sala}` } });
    expect(r.status).toBe(422);
    expect(named(r.body)).toEqual(['Task.owner']);
    expect(JSON.stringify(r.body)).toMatch(/follows the stay's routing/);
    expect(((await get('admin', url)).body as Task).owner?.reference).toBe(`Organization/${ids.vasteras}`);
    // nor changes what the stay says: its requester withdraws it or writes a note, nothing else
    const described = await send('otherEhr', 'put', url, { ...derived, description: 'Ändrad' });
    expect(described.status).toBe(403);
    expect(named(described.body)).toEqual(['Task.description']);
    expect((await send('otherEhr', 'put', url, { ...derived, note: [{ text: 'Ring först' }] })).status).toBe(200);
  });

  it('when the owner hands the Task over inside a transaction Bundle, then the whole Bundle is refused', async () => {
    const t = await readTask();
    const r = await send('vasteras', 'post', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...t, owner: { reference: `Organization/${ids.sala}` } },
          request: { method: 'PUT', url: `Task/${ids.t}` },
        },
      ],
    });
    expect(r.status).toBe(403);
    expect((await readTask()).owner?.reference).toBe(`Organization/${ids.vasteras}`);
  });

  it('when an admin deletes, updates or creates an AuditEvent, then 405 and the event is unchanged', async () => {
    await audit.flush();
    const list = (await get('admin', '/fhir/AuditEvent?_count=1')).body as Bundle<AuditEvent>;
    const ev = list.entry?.[0]?.resource;
    expect(ev?.id).toBeDefined();
    const del = await send('admin', 'delete', `/fhir/AuditEvent/${ev!.id}`);
    expect(del.status).toBe(405);
    expect(del.body.issue[0].code).toBe('not-supported');
    expect((await send('admin', 'put', `/fhir/AuditEvent/${ev!.id}`, { ...ev, outcome: '0' })).status).toBe(405);
    expect(
      (await send('admin', 'patch', `/fhir/AuditEvent/${ev!.id}`, [{ op: 'remove', path: '/agent' }])).status,
    ).toBe(405);
    expect((await send('admin', 'delete', `/fhir/AuditEvent?_id=${ev!.id}`)).status).toBe(405);
    const { id: _id, meta: _meta, ...fresh } = ev!;
    expect((await send('admin', 'post', '/fhir/AuditEvent', fresh)).status).toBe(405);
    const batch = await send('admin', 'post', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: `AuditEvent/${ev!.id}` } }],
    });
    expect(batch.body.entry[0].response.status).toMatch(/^405/);
    const after = await get('admin', `/fhir/AuditEvent/${ev!.id}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(ev);
  });

  it('when the CapabilityStatement is read, then AuditEvent offers no create, update or delete', async () => {
    const cs = (await request(app).get('/fhir/metadata')).body as CapabilityStatement;
    const ae = cs.rest?.[0]?.resource?.find((r) => r.type === 'AuditEvent');
    const codes = ae?.interaction?.map((i) => i.code);
    expect(codes).toEqual(expect.arrayContaining(['read', 'search-type']));
    for (const c of ['create', 'update', 'delete']) expect(codes).not.toContain(c);
    expect(ae?.conditionalDelete).toBe('not-supported');
    const task = cs.rest?.[0]?.resource?.find((r) => r.type === 'Task');
    expect(task?.interaction?.map((i) => i.code)).toContain('update');
  });
});

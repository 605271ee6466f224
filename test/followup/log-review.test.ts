import type { AuditEvent, Encounter } from '@medplum/fhirtypes';
import type { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedPatients } from '../../src/audit/exposed-patients';
import { saveClient } from '../../src/auth/client-store';
import type { Capability } from '../../src/compose.types';
import { systemRepository } from '../../src/compose';
import { logReviewRoutes } from '../../src/followup/log-review/log-review.routes';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { systemClock } from '../../src/platform/clock';
import { createRepository } from '../../src/store/repository.pg';
import { openShell, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';

let review: Router | undefined;
const fhir: Capability = {
  name: 'fake-fhir-and-review',
  mountRoutes(app) {
    // A search whose match points to one patient and whose _include brings another.
    app.get('/fhir/Task', (_req, res) => {
      res.type('application/fhir+json').send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [
            {
              resource: { resourceType: 'Task', id: 't1', for: { reference: 'Patient/p7' } },
              search: { mode: 'match' },
            },
            { resource: { resourceType: 'Patient', id: 'p8' }, search: { mode: 'include' } },
          ],
        }),
      );
    });
    app.use((q, s, n) => (review ? review(q, s, n) : n()));
  },
};

async function token(shell: Shell, id: string, admin: boolean, org?: string): Promise<string> {
  await saveClient(shell.db, {
    clientId: id,
    secret: `${id}-secret`,
    allowedScopes: ['system/*.rs'],
    role: admin ? 'admin' : 'municipality',
    admin,
    ...(org ? { organization: org } : {}),
  });
  return (
    await request(shell.gateway.app)
      .post('/auth/token')
      .auth(id, `${id}-secret`)
      .type('form')
      .send({ grant_type: 'client_credentials' })
  ).body.access_token as string;
}

describe('patients exposed by a response', () => {
  it('when a bundle holds a matched Task and an included Patient, then both patients are named', () => {
    const body = JSON.stringify({
      resourceType: 'Bundle',
      entry: [
        { resource: { resourceType: 'Task', for: { reference: 'Patient/a' } } },
        { resource: { resourceType: 'Patient', id: 'b' } },
      ],
    });
    expect(exposedPatients(body)).toEqual(['Patient/a', 'Patient/b']);
    expect(exposedPatients('not json')).toEqual([]);
  });
});

describe.each(testDatabases())('log review (loggranskning) on %s', (kind) => {
  let shell: Shell;
  let reader: string;
  let admin: string;

  beforeAll(async () => {
    shell = await openShell({ kind, capabilities: [fhir] });
    review = logReviewRoutes({ db: shell.db, clock: systemClock });
    reader = await token(shell, 'sala-reader', false, 'Organization/kommun-1981');
    admin = await token(shell, 'reviewer', true);
    // p7 is registered in 1981 (Sala) through the admission fact of stay e7; p8 is not.
    const repo = createRepository(shell.db, { system: true });
    await repo.update({
      resourceType: 'Organization',
      id: 'kommun-1981',
      name: 'Sala kommun',
      identifier: [{ system: 'urn:oid:1.2.752.129.2.2.1.17', value: '1981' }],
    });
    await repo.update<Encounter>({
      resourceType: 'Encounter',
      id: 'e7',
      status: 'in-progress',
      class: { code: 'IMP' },
      subject: { reference: 'Patient/p7' },
    });
    await storeAndLoadFactsOfStays(
      shell.db,
      [],
      [
        {
          id: 'e7#1',
          stayId: 'e7',
          kind: 'admitted',
          at: '2026-11-01T08:00:00Z',
          hospital: 'H',
          care: 'somatic',
          patient: { municipality: '1981' },
        },
      ],
      'hl7',
    );
    const r = await request(shell.gateway.app).get('/fhir/Task?_include=Task:patient').auth(reader, { type: 'bearer' });
    expect(r.status).toBe(200);
    await shell.gateway.audit!.flush();
  }, 60_000);
  afterAll(async () => shell.close());

  it('when a client searched, then its AuditEvent has one Patient entity per patient the result exposed', async () => {
    const events = (await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '50' })).resources;
    const search = events.find((e) => e.subtype?.[0]?.code === 'search-type');
    const patients = search?.entity?.filter((x) => x.role?.code === '1').map((x) => x.what?.reference);
    expect(patients).toEqual(['Patient/p7', 'Patient/p8']);
  });

  it("when the reviewer asks who saw a patient, then the accessor's organisation by name, its tenant and time come back", async () => {
    const r = await request(shell.gateway.app)
      .get('/admin/api/log-review?patient=Patient/p7')
      .auth(admin, { type: 'bearer' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      expect.objectContaining({
        organisation: 'Sala kommun',
        accessor: 'sala-reader',
        tenant: 'Organization/kommun-1981',
        patient: 'Patient/p7',
        interaction: 'search-type',
      }),
    ]);
  });

  it("when the reviewer filters on a municipality, then only its residents' accesses come, also as CSV", async () => {
    const r = await request(shell.gateway.app)
      .get('/admin/api/log-review?municipality=1981')
      .auth(admin, { type: 'bearer' });
    expect(r.body.map((x: { patient: string }) => x.patient)).toEqual(['Patient/p7']);
    const none = await request(shell.gateway.app)
      .get('/admin/api/log-review?municipality=1980')
      .auth(admin, { type: 'bearer' });
    expect(none.body).toEqual([]);
    const csv = await request(shell.gateway.app)
      .get('/admin/api/log-review?accessor=sala-reader&format=csv')
      .auth(admin, { type: 'bearer' });
    expect(csv.text.split('\r\n')[0]).toBe(
      'recorded;organisation;accessor;tenant;patient;action;interaction;what;outcome;requestId',
    );
    expect(csv.text).toContain(';Sala kommun;sala-reader;Organization/kommun-1981;Patient/p8;');
  });

  it('when a review is made, then the review itself is audited; a non-admin client is refused', async () => {
    await request(shell.gateway.app).get('/admin/api/log-review?patient=Patient/p8').auth(admin, { type: 'bearer' });
    const events = (await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '100' })).resources;
    const reviews = events.filter((e) => e.source?.observer?.display === 'svu-gateway log review');
    expect(reviews.map((e) => e.entity?.[0]?.description)).toContain('log-review?limit=1000&patient=Patient/p8');
    expect(reviews.every((e) => e.agent?.[0]?.who?.display === 'reviewer')).toBe(true);
    const refused = await request(shell.gateway.app).get('/admin/api/log-review').auth(reader, { type: 'bearer' });
    expect(refused.status).toBe(403);
  });

  it("when a municipality's log reviewer asks, then it sees only its residents and not another municipality's", async () => {
    const repo = createRepository(shell.db, { system: true });
    await repo.update({
      resourceType: 'Organization',
      id: 'kommun-1981',
      name: 'Sala kommun',
      identifier: [{ system: 'urn:oid:1.2.752.129.2.2.1.17', value: '1981' }],
    });
    await repo.update({
      resourceType: 'Organization',
      id: 'kommun-1980',
      name: 'Västerås stad',
      identifier: [{ system: 'urn:oid:1.2.752.129.2.2.1.17', value: '1980' }],
    });
    const sala = await token(shell, 'sala-loggranskare', false, 'Organization/kommun-1981');
    const vasteras = await token(shell, 'vasteras-loggranskare', false, 'Organization/kommun-1980');
    const mine = await request(shell.gateway.app).get('/fhir/$log-review').auth(sala, { type: 'bearer' });
    expect(mine.status).toBe(200);
    expect([...new Set(mine.body.map((x: { patient: string }) => x.patient))]).toEqual(['Patient/p7']);
    const other = await request(shell.gateway.app).get('/fhir/$log-review').auth(vasteras, { type: 'bearer' });
    expect(other.body).toEqual([]);
    const asks = await request(shell.gateway.app)
      .get('/fhir/$log-review?municipality=1981')
      .auth(vasteras, { type: 'bearer' });
    expect(asks.status).toBe(403);
    expect(asks.body.issue[0].diagnostics).toBe(
      "Västerås stad sees only its own residents' access, not those of Sala kommun",
    );
    // An organisation without a kommunkod is refused by its name (its reference beside it for the admin to fix).
    await repo.update({ resourceType: 'Organization', id: 'vardforbund', name: 'Västmanlands vårdförbund' });
    const noCode = await token(shell, 'forbund-loggranskare', false, 'Organization/vardforbund');
    const refused = await request(shell.gateway.app).get('/fhir/$log-review').auth(noCode, { type: 'bearer' });
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toBe(
      'Västmanlands vårdförbund (Organization/vardforbund) has no kommunkod: its own view cannot be limited to it',
    );
    await saveClient(shell.db, {
      clientId: 'sala-task-only',
      secret: 'sala-task-only-secret',
      allowedScopes: ['system/Task.rs'],
      role: 'municipality',
      organization: 'Organization/kommun-1981',
    });
    const t2 = (
      await request(shell.gateway.app)
        .post('/auth/token')
        .auth('sala-task-only', 'sala-task-only-secret')
        .type('form')
        .send({ grant_type: 'client_credentials' })
    ).body.access_token as string;
    expect((await request(shell.gateway.app).get('/fhir/$log-review').auth(t2, { type: 'bearer' })).status).toBe(403);
  });
});

import type { Encounter, Organization, Patient, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements, getAgreement } from '../../src/agreements/load-agreements';
import { saveClient } from '../../src/auth/client-store';
import { IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { indicatorRoutes } from '../../src/followup/indicators/indicators.routes';
import { upsertTaskRow } from '../../src/deadlines/deadline-store.pg';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { ManualClock } from '../../src/platform/clock';
import { createRepository } from '../../src/store/repository.pg';
import { openShell, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';
import { factsOf, syntheticYear } from './synthetic-stays';
import type { Router } from 'express';

async function token(shell: Shell, id: string, admin: boolean): Promise<string> {
  await saveClient(shell.db, {
    clientId: id,
    secret: `${id}-secret`,
    allowedScopes: admin ? ['system/*.*'] : ['system/Task.rs'],
    role: admin ? 'admin' : 'municipality',
    admin,
    ...(admin ? {} : { organization: 'Organization/kommun-1980' }),
  });
  const r = await request(shell.gateway.app)
    .post('/auth/token')
    .auth(id, `${id}-secret`)
    .type('form')
    .send({ grant_type: 'client_credentials' });
  return r.body.access_token as string;
}

describe.each(testDatabases())('GET /admin/api/indicators on %s', (kind) => {
  let shell: Shell;
  let admin: string;
  let routes: Router | undefined;
  const stays = syntheticYear(2022, 40).filter((s) => s.id.startsWith('ex-0602'));

  beforeAll(async () => {
    shell = await openShell({
      kind,
      audit: false,
      capabilities: [{ name: 'ind', mountRoutes: (app) => app.use((q, s, n) => (routes ? routes(q, s, n) : n())) }],
    });
    const agreements = await loadAgreements();
    routes = indicatorRoutes({
      db: shell.db,
      agreement: () => getAgreement(agreements, 'lag'),
      clock: new ManualClock('2022-04-15T00:00:00Z'),
    });
    await storeAndLoadFactsOfStays(shell.db, [], stays.flatMap(factsOf), 'hl7');
    const repo = createRepository(shell.db, { system: true });
    await repo.update<Organization>({
      resourceType: 'Organization',
      id: 'kommun-0602',
      name: 'Testkommunen',
      identifier: [{ system: IDENTIFIER_SYSTEM.kommunkod, value: '0602' }],
    });
    await repo.update<Patient>({ resourceType: 'Patient', id: 'p1', birthDate: '1940-02-02' });
    const first = stays[0]!;
    await repo.update<Encounter>({
      resourceType: 'Encounter',
      id: first.id,
      status: 'finished',
      class: { code: 'IMP' },
      subject: { reference: 'Patient/p1' },
    });
    const task = await repo.create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ code: 'kallelse-sip' }] },
      encounter: { reference: `Encounter/${first.id}` },
      owner: { reference: 'Organization/kommun-0602' },
      restriction: { period: { end: '2022-03-20T12:00:00Z' } },
    });
    const done = await repo.update<Task>({ ...task, status: 'completed' });
    // A duty whose Task says when it was met (a hospital's message: its send time), stored years later
    const met = await repo.create<Task>({
      resourceType: 'Task',
      status: 'completed',
      intent: 'order',
      code: { coding: [{ code: 'utse-fast-vardkontakt' }] },
      encounter: { reference: `Encounter/${first.id}` },
      owner: { reference: 'Organization/kommun-0602' },
      restriction: { period: { end: '2022-03-20T12:00:00Z' } },
      executionPeriod: { start: '2022-03-18T08:00:00Z', end: '2022-03-19T10:00:00Z' },
    });
    await upsertTaskRow(shell.db, taskRowOf(met, 'lag'));
    // The deadline worker's projection of the Task (what it writes on the Task's outbox events).
    await upsertTaskRow(shell.db, taskRowOf(done, 'lag'));
    admin = await token(shell, 'controller', true);
  }, 60_000);
  afterAll(async () => shell.close());

  it('when the controller asks for March, then each indicator is a MeasureReport with named strata', async () => {
    const r = await request(shell.gateway.app)
      .get('/admin/api/indicators?month=2022-03')
      .auth(admin, { type: 'bearer' });
    expect(r.status).toBe(200);
    const reports = JSON.parse(r.text).entry.map((e: { resource: unknown }) => e.resource);
    const ready = reports.find((m: { id: string }) => m.id === 'ready-days-2022-03');
    expect(ready).toMatchObject({ resourceType: 'MeasureReport', type: 'summary', period: { start: '2022-03-01' } });
    const byMunicipality = ready.group[0].stratifier.find(
      (s: { code: { text: string }[] }) => s.code[0]?.text === 'municipality',
    );
    // Seed 003 kommun B: 27 days over 10 stays (24-hour blocks of 08:00 → 10:00 are calendar days here too)
    expect(byMunicipality.stratum).toEqual([
      expect.objectContaining({
        value: { coding: [{ code: '0602' }], text: 'Testkommunen' },
        measureScore: { value: 2.7, unit: 'd' },
      }),
    ]);
    const steps = reports.find((m: { id: string }) => m.id === 'step-timeliness-2022-03');
    const strata = steps.group[0].stratifier[0].stratum as {
      value: { text: string };
      measureScore: { value: number };
    }[];
    const party = strata.find((x) => x.value.text === 'Testkommunen · kallelse-sip')!;
    // met on 19 March by its own account, though stored in the test's present: on time
    expect(strata.find((x) => x.value.text === 'Testkommunen · utse-fast-vardkontakt')?.measureScore.value).toBe(1);
    // Completed when the test wrote it (years after the March 2022 deadline): late, judged by the stored completion.
    expect(party.measureScore.value).toBe(0);
    const median = reports.find((m: { id: string }) => m.id === 'step-lateness-median-2022-03');
    expect(median.group[0].stratifier[0].stratum[0].measureScore.value).toBeGreaterThan(24 * 365);
  });

  it('when asked as CSV, then one row per indicator and unit with the organisation name', async () => {
    const r = await request(shell.gateway.app)
      .get('/admin/api/indicators?month=2022-03&format=csv')
      .auth(admin, { type: 'bearer' });
    expect(r.text).toContain('ready-days;2022-03;municipality;0602;Testkommunen;;2.7;27;10');
  });

  it('when the Measures are asked, then every indicator has a definition', async () => {
    const r = await request(shell.gateway.app).get('/admin/api/indicators/measures').auth(admin, { type: 'bearer' });
    expect(JSON.parse(r.text).entry).toHaveLength(7);
  });

  it('when a municipality client asks, then it is refused', async () => {
    const tok = await token(shell, 'kommun', false);
    const r = await request(shell.gateway.app).get('/admin/api/indicators?month=2022-03').auth(tok, { type: 'bearer' });
    expect(r.status).toBe(403);
  });
});

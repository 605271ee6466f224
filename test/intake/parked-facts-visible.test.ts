import type { Bundle, Encounter } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/auth/auth-context';
import { CODE_SYSTEM, EXTENSION } from '../../src/fhir/constants';
import { createValidator } from '../../src/fhir/validator';
import { intakeHooks } from '../../src/intake';
import { testApp } from '../fhir-api/app';
import { caseOverview } from '../../src/case-overview/case-overview';
import { overviewPage } from '../../src/case-overview/overview-page';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { PgRepository } from '../../src/store/repository.pg';
import type { AccessScope } from '../../src/store/repository.port';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { intakeHarness, type IntakeHarness } from './harness';

/**
 * ADR 024, the rest of "nothing parked in silence" with the ACK sent on store: a FHIR write that the engine parks
 * answers with OperationOutcome warnings (and a Warning header); a stay built from HL7 carries the engine's current
 * issues as `engine-issue` extensions on its Encounter, readable over FHIR, gone once the fact takes effect.
 */
const FHIR = 'application/fhir+json';

describe.each(testDatabases())('parked facts visible over FHIR on %s', (kind) => {
  let h: IntakeHarness;
  let app: Express;
  beforeAll(async () => {
    h = await intakeHarness(kind);
    const ehr: AuthContext = {
      clientId: 'demo-ehr',
      scopes: ['system/Patient.cruds', 'system/Encounter.cruds', 'system/Task.rs', 'system/Organization.rs'],
      access: { clientId: 'demo-ehr', organization: `Organization/${h.hospital.id ?? ''}`, role: 'hospital' },
      admin: false,
    };
    app = testApp(h.db, await createValidator(), { ehr }, { hooks: intakeHooks(h.ctx) });
  });
  afterAll(async () => {
    await h.close();
  });
  const post = (url: string, body: object, prefer?: string) => {
    const r = request(app).post(url).set('x-test-as', 'ehr').set('Content-Type', FHIR);
    return (prefer ? r.set('Prefer', prefer) : r).send(JSON.stringify(body));
  };
  const admission = (patientId: string, consent: string, visit: string): Encounter => ({
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    identifier: [{ system: 'urn:oid:1.2.752.129.2.1.2.1', value: visit }],
    subject: { reference: `Patient/${patientId}` },
    period: { start: '2026-01-15T10:30:00+01:00' },
    serviceProvider: { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0001' } },
    extension: [
      { url: EXTENSION.needs, valueCoding: { system: CODE_SYSTEM.needs, code: 'socialtjanst' } },
      { url: EXTENSION.consent, valueCode: consent },
      { url: EXTENSION.estimatedDischargeDate, valueDateTime: '2026-01-22' },
    ],
  });
  let patientId = '';

  it('when a FHIR admission refuses consent, then the answer carries an OperationOutcome warning and a Warning header', async () => {
    const p = await post('/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'http://electronichealth.se/identifier/personnummer', value: '193803129828' }],
      address: [{ use: 'home', district: '1980' }],
    });
    expect(p.status).toBe(201);
    patientId = (p.body as { id: string }).id;
    const r = await post('/fhir/Encounter', admission(patientId, 'nej', 'PF-1'), 'return=OperationOutcome');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const issues = (r.body as { issue: { severity: string; diagnostics: string }[] }).issue;
    expect(issues.filter((i) => i.severity === 'warning').map((i) => i.diagnostics.split(':')[0])).toEqual([
      'consent-refused',
    ]);
    expect(String(r.headers.warning)).toContain('consent-refused');
  });

  it('when a FHIR admission is ordinary, then no warning', async () => {
    const r = await post('/fhir/Encounter', admission(patientId, 'ja', 'PF-2'), 'return=OperationOutcome');
    expect(r.status).toBe(201);
    const issues = (r.body as { issue: { severity: string }[] }).issue;
    expect(issues.filter((i) => i.severity === 'warning')).toEqual([]);
    expect(r.headers.warning).toBeUndefined();
  });

  it('when an inpatient Encounter in progress has no admission time, then it is stored and the answer says nobody is told', async () => {
    const { period: _none, ...noStart } = admission(patientId, 'ja', 'PF-5');
    const r = await post('/fhir/Encounter', noStart, 'return=OperationOutcome');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const issues = (r.body as { issue: { severity: string; diagnostics: string }[] }).issue;
    const warnings = issues.filter((i) => i.severity === 'warning').map((i) => i.diagnostics);
    expect(warnings).toEqual([
      expect.stringMatching(/^no-admission-time: Encounter in-progress without period\.start/),
    ]);
    expect(String(r.headers.warning)).toContain('no-admission-time');
    // no stay was started: no Task points to the Encounter
    const id = (r.body as { issue: { diagnostics: string }[] }).issue[0]!.diagnostics.match(/Encounter\/([\w-]+)/)![1];
    const tasks = await request(app).get(`/fhir/Task?encounter=Encounter/${id}`).set('x-test-as', 'ehr');
    expect((tasks.body as { total?: number; entry?: unknown[] }).entry ?? []).toEqual([]);
    // a planned Encounter has not begun: no warning
    const planned = await post('/fhir/Encounter', { ...noStart, status: 'planned' }, 'return=OperationOutcome');
    expect((planned.body as { issue: { severity: string }[] }).issue.filter((i) => i.severity === 'warning')).toEqual(
      [],
    );
  });

  it('when a transaction Bundle carries an admission without consent, then the Warning header says it and the Encounter entry’s outcome says it in words', async () => {
    const r = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: admission(patientId, 'nej', 'PF-4'), request: { method: 'POST', url: 'Encounter' } },
        { resource: admission(patientId, 'ja', 'PF-5'), request: { method: 'POST', url: 'Encounter' } },
      ],
    });
    expect(r.status).toBe(200);
    expect(String(r.headers.warning)).toContain('consent-refused');
    const [refusedConsent, ordinary] = (r.body as Bundle).entry ?? [];
    expect(refusedConsent?.response?.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'warning',
          code: 'informational',
          diagnostics: expect.stringMatching(/^consent-refused: consent refused \(samtycke nej\)/),
        },
      ],
    });
    // the other stay's entry carries no note of the first's
    expect(ordinary?.response?.outcome).toBeUndefined();
  });

  it('when a FHIR stay’s municipality is not in the directory, then the Bundle entry and the case overview name it', async () => {
    const stockholm = await post('/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'http://electronichealth.se/identifier/personnummer', value: '194107139802' }],
      address: [{ use: 'home', district: '0180' }],
    });
    expect(stockholm.status, JSON.stringify(stockholm.body)).toBe(201);
    const r = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: admission((stockholm.body as { id: string }).id, 'ja', 'PF-6'),
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    });
    const [entry] = (r.body as Bundle).entry ?? [];
    expect(entry?.response?.outcome?.issue?.map((i) => i.diagnostics)).toEqual([
      expect.stringMatching(
        /^recipient-not-connected: recipient not connected: Stockholm \(kommun 0180\) is not in the gateway's directory/,
      ),
    ]);
    // the Encounter a FHIR client writes carries no engine-issue extension: the overview finds the issue itself
    const agreement = getAgreement(await loadAgreements(), 'vastmanland');
    const sys = new PgRepository(h.db, { system: true }, undefined, {}, {});
    const admin: AccessScope = { role: 'admin', clientId: 'admin' };
    const overview = await caseOverview(h.db, sys, admin, entry?.resource?.id ?? '', agreement);
    // its hospital, named by HSA-id in serviceProvider, by its directory name
    expect(overview.encounter.hospital).toBe('Västmanlands sjukhus Västerås');
    expect(overviewPage(overview)).toMatch(/på Västmanlands sjukhus Västerås: pågår, inskriven 2026-01-15/);
    expect(overview.issues.map((i) => i.text)).toEqual([
      expect.stringMatching(
        /^Stockholm \(kommun 0180\) är inte ansluten till gatewayen, så ingen kan ta emot inskrivningsmeddelande/,
      ),
    ]);
  });

  it('when an HL7 ready notice is held back, then the Encounter says so in engine-issue; once the criteria come, it is gone', async () => {
    const issuesOf = async (): Promise<string[]> => {
      const e = (await h.repo.search<Encounter>('Encounter', { identifier: 'PF-3' })).resources[0];
      return (e?.extension ?? []).filter((x) => x.url === EXTENSION.engineIssue).map((x) => x.valueString ?? '');
    };
    await h.send(
      adt({ event: 'A01', visit: 'PF-3', expected: '20260122', obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
    );
    expect(await issuesOf()).toEqual([]);
    await h.send(adt({ event: 'A08', visit: 'PF-3', obx: [OBX.ready('20260116120000')] }));
    const held = await issuesOf();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatch(/^ready: utskrivningsklar not activated: criteria not met/);
    await h.send(
      adt({
        event: 'A08',
        visit: 'PF-3',
        obx: [
          OBX.criteria(
            'skriftlig-information',
            'fast-vardkontakt',
            'informationsoverforing',
            'hjalpmedel',
            'lakemedelslista',
          ),
        ],
      }),
    );
    expect(await issuesOf()).toEqual([]);
  });
});

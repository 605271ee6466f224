import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Bundle, Encounter, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { CODE_SYSTEM, EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import type { CaseOverview } from '../../src/case-overview/case-overview';
import { uniquePrefix } from '../support/redis';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';
import { admission, codeOf, needsCD, ok, partyClient, withExtensions, type PartyClient } from '../sip/party-client';

/**
 * What an EHR that pushes its stays over FHIR is told (found by playing a whole stay as the README and
 * docs/ingestion.md describe it): a ready notice held back says what it waits for now, and a code the intake does not
 * read is named in the answer while the rest of the write, and the notifications it makes due, still apply.
 */
describe.each(testDatabases())('what the FHIR push answers the EHR on %s', (kind) => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};

  const admit = async (visit: string, pnr: string, more: Encounter['extension'] = []): Promise<Bundle> =>
    ok(
      await c['demo-ehr']!.post(
        '/fhir',
        admission(visit, pnr, '2026-12-07T09:30:00+01:00', [...needsCD(), ...(more ?? [])]),
      ),
    ) as Bundle;
  const encounterOf = async (b: Bundle): Promise<Encounter> => {
    const id = /Encounter\/([^/]+)/.exec(b.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    return ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
  };
  /** The hospital's update, answered with an OperationOutcome (`Prefer: return=OperationOutcome`). */
  const update = (e: Encounter): request.Test =>
    request(shell.gateway.app)
      .put(`/fhir/Encounter/${e.id}`)
      .auth(c['demo-ehr']!.token, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .set('Prefer', 'return=OperationOutcome')
      .send(JSON.stringify(e));
  const warnings = (o: OperationOutcome | undefined): string[] =>
    (o?.issue ?? []).filter((i) => i.severity === 'warning').map((i) => i.diagnostics ?? '');

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', 'demo-vasteras']) c[id] = await partyClient(shell.gateway.app, id);
  });
  afterAll(async () => {
    await shell?.close();
  });

  it('when the ready notice (dated before the write) comes with all criteria but the named care contact, then the answer and the overview name only that one as missing', async () => {
    const e = await encounterOf(await admit('fhir-answers-1', '194005109808'));
    const criteria = [
      'lakarbedomning',
      'skriftlig-information',
      'informationsoverforing',
      'hjalpmedel',
      'lakemedelslista',
    ];
    const ready = [
      ...stayExtensions({ readyAt: '2026-12-07T11:00:00+01:00' }),
      ...criteria.map((code) => ({ url: EXTENSION.readinessCriteria, valueCode: code })),
    ];
    const r = await update(withExtensions(e, ready));
    expect(r.status).toBe(200);
    const [held] = warnings(r.body as OperationOutcome).filter((w) => w.includes('utskrivningsklar not activated'));
    // before the fix: "criteria not met (001 §3): skriftlig-information, fast-vardkontakt, informationsoverforing, …"
    // (what was missing at the ready notice's time, before the same version's criteria were folded)
    expect(held).toContain('criteria not met (001 §3): fast-vardkontakt;');
    const o = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${e.id}/$overview`)) as unknown as CaseOverview;
    expect(o.readiness.missing.map((x) => x.code)).toEqual(['fast-vardkontakt']);
    const details = o.issues.map((i) => JSON.stringify(i)).join('\n');
    expect(details).toContain('criteria not met (001 §3): fast-vardkontakt;');
    expect(details).not.toContain('skriftlig-information');
  });

  it('when the admission carries a consent code the gateway does not know, then the answer names it and the municipality is still notified', async () => {
    const b = await admit('fhir-answers-2', '195203121230', [{ url: EXTENSION.consent, valueCode: 'JA' }]);
    const outcome = b.entry?.[1]?.response?.outcome;
    // before the fix: nothing (the value was dropped in silence)
    expect(warnings(outcome)).toContainEqual(
      expect.stringMatching(
        /unknown-code: .*\(consent\): code "JA" is not one of ja, nej, menprovning; the value is left out/,
      ),
    );
    const e = await encounterOf(b);
    const notices = await c['demo-vasteras']!.tasks({ encounter: `Encounter/${e.id}` });
    expect(notices.map(codeOf)).toContain('inskrivningsmeddelande');
  });

  it('when the admission carries a need, a category and a kind of care by codes the gateway does not know, then it is stored, the answer names each, and the municipality is still notified', async () => {
    const coding = (url: string, system: string, code: string) => ({ url, valueCoding: { system, code } });
    const b = await admit('fhir-answers-5', '194203031234', [
      coding(EXTENSION.needs, CODE_SYSTEM.needs, 'hemtjanst-x'),
      coding(EXTENSION.patientCategory, CODE_SYSTEM.patientCategory, 'F'),
      coding(EXTENSION.careKind, CODE_SYSTEM.careKind, 'geriatric'),
    ]);
    // before the fix: 422 (a code outside the required binding), nothing stored and no admission notice
    const said = warnings(b.entry?.[1]?.response?.outcome).join('\n');
    expect(said).toMatch(
      /\(discharge-needs\): code "hemtjanst-x" is not one of .*socialtjanst.*; the value is left out/,
    );
    expect(said).toContain('(patient-category): code "F" is not one of');
    expect(said).toContain('(care-kind): code "geriatric" is not one of');
    const e = await encounterOf(b);
    const notices = await c['demo-vasteras']!.tasks({ encounter: `Encounter/${e.id}` });
    expect(notices.map(codeOf)).toContain('inskrivningsmeddelande');
  });

  it('when a need is sent as a value of the wrong type, then the admission is still refused, naming the extension', async () => {
    const bundle = admission('fhir-answers-6', '194305051239', '2026-12-07T09:30:00+01:00', [
      { url: EXTENSION.needs, valueString: 'socialtjanst' },
    ]);
    const r = await c['demo-ehr']!.post('/fhir', bundle);
    // what cannot be understood is refused: only a code the gateway does not know is left out
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body)).toContain(`extension ${EXTENSION.needs} needs exactly one of valueCoding`);
  });

  it('when the admission names neither municipality nor listed vårdcentral, then the answer names the FHIR elements to send, not only HL7 fields', async () => {
    const bundle = admission('fhir-answers-4', '194112129871', '2026-12-07T09:30:00+01:00', needsCD());
    const patient = bundle.entry![0]!.resource as Patient;
    patient.address = [{ use: 'home', city: 'Okänd', country: 'SE' }];
    delete patient.generalPractitioner;
    const b = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const said = warnings(b.entry?.[1]?.response?.outcome).join('\n');
    // before the fix: "no municipality of registration (PID-11) …", "no listed primary-care unit (PD1-3) nor outpatient
    // unit (oppenvardsenhet)": fields a FHIR sender does not have
    expect(said).toContain('no municipality of registration (HL7 PID-11, FHIR Patient.address.district)');
    expect(said).toContain('(HL7 PD1-3, FHIR Patient.generalPractitioner) nor outpatient unit');
    expect(said).toContain('FHIR extension outpatient-unit');
  });

  it('when an update reports a readiness criterion by a misspelt code, then the answer says which value was left out', async () => {
    const e = await encounterOf(await admit('fhir-answers-3', '193801012349'));
    const r = await update(
      withExtensions(e, [{ url: EXTENSION.readinessCriteria, valueCode: 'lakemedelslistan' }, ...stayExtensions({})]),
    );
    expect(r.status).toBe(200);
    expect(String(r.headers.warning)).toContain('"unknown-code"');
    expect(warnings(r.body as OperationOutcome)).toContainEqual(
      expect.stringContaining('(readiness-criteria): code "lakemedelslistan" is not one of lakarbedomning,'),
    );
  });
});

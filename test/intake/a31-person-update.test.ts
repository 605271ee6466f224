/**
 * HL7 v2 A31 (update person information) over MLLP: it was answered AR (`unknown-event`), so a patient who became
 * protected (skyddad identitet), moved or got a new listed vårdcentral kept the old data, and a municipality kept
 * reading the address. Now it updates the Patient as an A08 would (ACK AA, PV1 absent or empty) and its open stays
 * at the sending hospital get the change as a FHIR Patient write gives it (one function, `applyPatientChange`).
 */
import type { Encounter, Patient, Task } from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/auth/auth-context';
import { EXTENSION, SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { createRepository } from '../../src/store/repository.pg';
import { adt, OBX, withField, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, type IntakeHarness } from './harness';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const PNR_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')];
/** The admission's listed vårdcentral (PD1-3): without one the ACK warns that outpatient care cannot be told. */
const LISTED = 'SE2321000172-VC01';

/** An A31 as hospitals send it: no visit (PV1 empty), the person's data in PID/PD1. */
const a31 = (o: Omit<AdtOptions, 'event'>): string =>
  adt({ ...o, event: 'A31', noPv1: true, extra: ['PV1|1|N', ...(o.extra ?? [])] });

describe.each(testDatabases())('HL7 v2 A31 update person information on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true, units: [LISTED] });
  });
  afterAll(async () => {
    await h.close();
  });

  const patientOf = async (pnr: string): Promise<Patient | undefined> =>
    (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources[0];
  /** The municipality's own view of a Patient (its tenant's read rules). */
  const asVasteras = (id: string) =>
    createRepository(h.db, {
      clientId: 'c-vasteras',
      organization: `Organization/${h.vasteras.id ?? ''}`,
      role: 'municipality',
    }).read<Patient>('Patient', id);
  const send = async (text: string): Promise<string> => {
    const ack = await h.send(text);
    return ackCode(ack) + (ack.getSegment('ERR') ? ` ${ack.getSegment('ERR')?.toString() ?? ''}` : '');
  };

  it('when an A31 marks the patient protected, then AA and the municipality no longer reads the address', async () => {
    const pnr = '196604149861';
    expect(
      await send(adt({ event: 'A01', visit: 'A31-PROT', pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED })),
    ).toBe('AA');
    const before = await patientOf(pnr);
    expect((await asVasteras(before?.id ?? '')).address?.[0]?.line).toEqual(['Vasagatan 12']);

    expect(await send(a31({ pnr, protection: 'Y', control: 'A31-P1' }))).toBe('AA');
    const stored = await patientOf(pnr);
    expect(stored?.id).toBe(before?.id);
    expect(stored?.meta?.security).toEqual([{ system: SE_SECURITY_LABEL_SYSTEM, code: 'sekretessmarkering' }]);
    const seen = await asVasteras(stored?.id ?? '');
    expect(seen.address).toBeUndefined();
    expect(seen.meta?.security?.map((c) => c.code)).toContain('REDACTED');
    expect(seen.extension?.some((e) => e.url === EXTENSION.protectedIdentityNotice)).toBe(true);
    const row = (
      await h.db.query<{ status: string; event: string; stay_id: string | null }>(
        'SELECT status, event, stay_id FROM hl7_message WHERE control_id = $1',
        ['A31-P1'],
      )
    ).rows[0];
    expect(row).toEqual({ status: 'accepted', event: 'A31', stay_id: null });
  });

  it('when an A31 gives a new municipality, then the open stay is re-routed as an A08 would', async () => {
    const pnr = '195207089839';
    const visit = 'A31-MOVE';
    expect(await send(adt({ event: 'A01', visit, pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED }))).toBe(
      'AA',
    );
    const stayId = encounterIdFor(VISIT_SYSTEM, visit);
    const notice = (tasks: Task[], org: string) =>
      tasks.find((t) => codeOf(t) === 'inskrivningsmeddelande' && t.owner?.reference === `Organization/${org}`);
    expect(notice(await h.tasks(stayId), h.sala.id ?? '')).toBeUndefined();

    expect(await send(a31({ pnr, municipality: '1981', control: 'A31-M1' }))).toBe('AA');
    expect((await patientOf(pnr))?.address?.[0]?.district).toBe('1981');
    const tasks = await h.tasks(stayId);
    expect(notice(tasks, h.sala.id ?? '')?.status).toBe('requested');
    expect(notice(tasks, h.vasteras.id ?? '')?.status).toBe('cancelled');
    const facts = await h.db.query<{ kind: string }>(
      'SELECT kind FROM stay_fact WHERE stay_id = $1 AND fact_id LIKE $2',
      [stayId, '%A31-M1%'],
    );
    expect(facts.rows.map((r) => r.kind)).toEqual(['patient-updated']);
    // The message's outcome (admin view) names the Tasks it changed.
    expect((await h.outcome('A31-M1')).tasks.created.length).toBeGreaterThan(0);
  });

  it('when the patient has more earlier Encounters than a search page, then the A31 still re-routes the open stay', async () => {
    // The stays were found by a FHIR search, oldest update first with a limit of 100: a stay updated after 100 other
    // Encounters of the patient (outpatient visits) was never reached. They are now read by the subject's index rows.
    const pnr = '194802169815';
    const visit = 'A31-MANY';
    expect(await send(a31({ pnr, control: 'A31-MANY0' }))).toBe('AA');
    const patientId = (await patientOf(pnr))?.id ?? '';
    for (let i = 0; i < 100; i++) {
      await h.repo.create<Encounter>({
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${patientId}` },
        period: { start: '2026-01-01T08:00:00+01:00', end: '2026-01-01T09:00:00+01:00' },
      });
    }
    expect(await send(adt({ event: 'A01', visit, pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED }))).toBe(
      'AA',
    );
    const stayId = encounterIdFor(VISIT_SYSTEM, visit);
    expect((await h.repo.read<Encounter>('Encounter', stayId)).subject?.reference).toBe(`Patient/${patientId}`);

    expect(await send(a31({ pnr, municipality: '1981', control: 'A31-MANY1' }))).toBe('AA');
    const notices = (await h.tasks(stayId)).filter((t) => codeOf(t) === 'inskrivningsmeddelande');
    const of = (org: string) => notices.find((t) => t.owner?.reference === `Organization/${org}`)?.status;
    expect(of(h.sala.id ?? '')).toBe('requested');
    expect(of(h.vasteras.id ?? '')).toBe('cancelled');
  });

  it('when an A31 gives the municipality a stay was admitted without, then the Encounter the hospital reads no longer warns of it', async () => {
    const pnr = '195503129875';
    const visit = 'A31-ISSUE';
    expect(
      await send(
        adt({ event: 'A01', visit, pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED, municipality: '' }),
      ),
    ).toMatch(/^AA/);
    const stayId = encounterIdFor(VISIT_SYSTEM, visit);
    const asHospital = createRepository(h.db, {
      clientId: 'c-hospital',
      organization: `Organization/${h.hospital.id ?? ''}`,
      role: 'hospital',
    });
    const issuesOf = async (): Promise<{ issues: string[]; version?: string }> => {
      const e = await asHospital.read<Encounter>('Encounter', stayId);
      const issues = (e.extension ?? []).filter((x) => x.url === EXTENSION.engineIssue).map((x) => x.valueString ?? '');
      return { issues, ...(e.meta?.versionId ? { version: e.meta.versionId } : {}) };
    };
    const before = await issuesOf();
    expect(before.issues.some((t) => /^no municipality of registration/.test(t))).toBe(true);

    expect(await send(a31({ pnr, municipality: '1981', control: 'A31-I1' }))).toBe('AA');
    const after = await issuesOf();
    expect(after.issues.filter((t) => /municipality/.test(t))).toEqual([]);
    expect(after.version).not.toBe(before.version);

    // a move that changes no issue (re-routed to another municipality) writes no new Encounter version
    expect(await send(a31({ pnr, municipality: '1980', control: 'A31-I2' }))).toBe('AA');
    expect(await issuesOf()).toEqual(after);
  });

  it('when the patient has an open stay at another hospital, then the A31 does not change that stay', async () => {
    const pnr = '194107086995';
    const visit = 'A31-OTHER';
    const other = 'SE2321000999-OTHER1';
    expect(
      await send(
        adt({ event: 'A01', visit, pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED, facility: other }),
      ),
    ).toBe('AA');
    expect(await send(a31({ pnr, municipality: '1981', control: 'A31-O1' }))).toBe('AA');
    expect((await patientOf(pnr))?.address?.[0]?.district).toBe('1981');
    const system = VISIT_SYSTEM.replace('DEMO0001', 'OTHER1').replace('SE2321000172', 'SE2321000999');
    const facts = await h.db.query<{ kind: string }>('SELECT kind FROM stay_fact WHERE stay_id = $1', [
      encounterIdFor(system, visit),
    ]);
    expect(facts.rows.map((r) => r.kind)).not.toContain('patient-updated');
    expect(facts.rows.map((r) => r.kind)).toContain('admitted');
  });

  it('when an A31 gives a new listed vårdcentral, then the Patient names it', async () => {
    const pnr = '194910130832';
    expect(
      await send(adt({ event: 'A01', visit: 'A31-VC', pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED })),
    ).toBe('AA');
    expect(await send(a31({ pnr, listedUnit: 'SE2321000172-VC0042', control: 'A31-VC1' }))).toBe('AA');
    expect((await patientOf(pnr))?.generalPractitioner?.[0]?.identifier?.value).toBe('SE2321000172-VC0042');
  });

  it('when an A31 names a person the gateway does not know, then AA and the Patient is stored without a stay', async () => {
    const pnr = '198112189876';
    expect(await send(a31({ pnr, control: 'A31-NEW' }))).toBe('AA');
    const p = await patientOf(pnr);
    expect(p?.name?.[0]?.family).toBe('Andersson');
    expect(await send(a31({ pnr, control: 'A31-NEW' }))).toBe('AA'); // a repeat changes nothing
    expect((await h.repo.history('Patient', p?.id ?? '')).length).toBe(1);
  });

  it('when an A31 has no PV1 segment at all, then AA', async () => {
    const text = adt({ event: 'A31', noPv1: true, pnr: '196604149861', control: 'A31-NOPV1' });
    expect(await send(text)).toBe('AA');
  });

  it('when an A31 records a death (PID-29/30), then the open stay ends as a death', async () => {
    const pnr = '193803129828';
    const visit = 'A31-DIED';
    expect(await send(adt({ event: 'A01', visit, pnr, expected: '20260122', obx: NEEDS, listedUnit: LISTED }))).toBe(
      'AA',
    );
    const text = withField(withField(a31({ pnr, control: 'A31-D1' }), 'PID', 29, '20260115120000'), 'PID', 30, 'Y');
    expect(await send(text)).toBe('AA');
    const kinds = await h.db.query<{ kind: string }>('SELECT kind FROM stay_fact WHERE stay_id = $1', [
      encounterIdFor(VISIT_SYSTEM, visit),
    ]);
    expect(kinds.rows.map((r) => r.kind)).toContain('died');
  });
});

describe('HL7 v2 A31 over POST /hl7v2', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness('pglite');
  });
  afterAll(async () => {
    await h.close();
  });

  it('when a hospital client posts an A31, then 200 with AA and the Patient is updated', async () => {
    const app = express();
    app.use((_req, res, next) => {
      const auth: AuthContext = {
        clientId: 'demo-ehr',
        scopes: ['system/Encounter.cu'],
        access: { role: 'hospital', organization: `Organization/${h.hospital.id ?? ''}` },
        admin: false,
      };
      res.locals.auth = auth;
      next();
    });
    h.intake.mountRoutes?.(app);
    const r = await request(app)
      .post('/hl7v2')
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(a31({ pnr: '196604149861', protection: 'Y', control: 'A31-HTTP' }));
    expect(r.status).toBe(200);
    expect(r.text).toContain('MSA|AA|A31-HTTP');
    await h.intake.settled();
    const p = (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|196604149861` })).resources[0];
    expect(p?.meta?.security?.[0]?.code).toBe('sekretessmarkering');
  });
});

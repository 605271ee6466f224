/**
 * Protected identity is the person's (Skatteverket's marking), held together over the person's records (one Patient
 * per hospital that writes through FHIR, the HL7-shared one): `keepPersonProtected`. Before:
 * 1. a record created after another record of the person was protected (hospital B's FHIR admission, an HL7
 *    admission of a person a hospital's client had marked) carried no label, and B's municipality read the address;
 * 2. an A08 or A31 without PD1-12 (HL7 v2: "no change") removed the label from the hospital's own record;
 * 3. lifting a label (PD1-12 `""`, a FHIR write without it) left the gateway's copies on the other records.
 */
import type { Bundle, Organization, Patient } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION, SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { PROTECTION_AUTHOR } from '../../src/intake/stay/patient-change';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository, WriteOptions } from '../../src/store/repository.port';
import { adt } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { clientOf, createHospitalB, HSA_B, NEEDS, PNR_SYSTEM, VISIT_A } from './two-hospitals';
import { intakeHarness, receiverTask, type IntakeHarness } from './harness';

const labels = (p: Patient | undefined): string[] => (p?.meta?.security ?? []).map((c) => c.code ?? '');

describe.each(testDatabases())('a protected identity over the records of one person on %s', (kind) => {
  let h: IntakeHarness;
  let hospitalB: Organization;
  let apiB: FhirRepository;
  let B: WriteOptions;
  beforeAll(async () => {
    h = await intakeHarness(kind);
    hospitalB = await createHospitalB(h);
    B = { author: 'b-ehr', authorOrganization: `Organization/${hospitalB.id ?? ''}` };
    apiB = clientOf(h, hospitalB, 'hospital', 'b-ehr');
  });
  afterAll(async () => {
    await h.close();
  });

  const records = async (pnr: string) =>
    (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}`, _count: '10' })).resources;
  /** The HL7-shared record (A's) and B's own record of the person. */
  const recordsOf = async (pnr: string, bId: string) => {
    const all = await records(pnr);
    return { a: all.find((p) => p.id !== bId), b: all.find((p) => p.id === bId) };
  };
  /** B's FHIR admission (a transaction: conditional update of its Patient, its Encounter): B's own Patient. */
  const admitAtB = async (pnr: string, visit: string): Promise<{ answer: Bundle; id: string }> => {
    const text = readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')
      .replaceAll('SE2321000172-DEMO0001', HSA_B)
      .replaceAll('193111309856', pnr)
      .replaceAll('FHIR-VS-2026-0001', visit);
    const answer = await apiB.processBundle(JSON.parse(text) as Bundle, B);
    const own = (await apiB.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(own).toHaveLength(1);
    return { answer, id: own[0]?.id ?? '' };
  };
  const asMunicipality = (org: Organization) =>
    createRepository(h.db, {
      clientId: `c-${org.id ?? ''}`,
      organization: `Organization/${org.id ?? ''}`,
      role: 'municipality',
    });
  const authorOfLatest = async (id: string): Promise<string | null> =>
    (
      await h.db.query<{ author: string | null }>(
        `SELECT author FROM fhir_resource WHERE resource_type = 'Patient' AND id = $1`,
        [id],
      )
    ).rows[0]?.author ?? null;

  it('when A’s A01 marked the person protected and B’s FHIR client admits them, then B’s new Patient is protected and B’s municipality reads it redacted', async () => {
    const pnr = '195011241220';
    await h.send(adt({ event: 'A01', visit: 'PP-1', pnr, obx: NEEDS, protection: 'Y' }));
    const { answer, id } = await admitAtB(pnr, 'FHIR-PP-1');
    // B's answer is what is stored: the gateway's version with the label, right after B's own
    const entry = answer.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as Patient;
    expect(labels(entry)).toContain('sekretessmarkering');
    expect(entry.meta?.versionId).toBe('2');
    const stored = await h.repo.read<Patient>('Patient', id);
    expect(labels(stored)).toContain('sekretessmarkering');
    expect(await authorOfLatest(id)).toBe(PROTECTION_AUTHOR);
    // B holds its record: it reads it whole; Västerås (the municipality of B's stay's Tasks) reads it redacted
    expect((await apiB.read<Patient>('Patient', id)).address?.[0]?.line).toEqual(['Kopparbergsvägen 30']);
    const tasks = (await h.repo.search('Task', { subject: `Patient/${id}`, _count: '50' })).resources;
    expect(tasks.length).toBeGreaterThan(0);
    const seen = await asMunicipality(h.vasteras).read<Patient>('Patient', id);
    expect(seen.address).toBeUndefined();
    expect(labels(seen)).toContain('REDACTED');
    expect(seen.extension?.some((e) => e.url === EXTENSION.protectedIdentityNotice)).toBe(true);
  });

  it('when B’s client creates a Patient of a protected person with a plain POST, then it is answered with the protected version stored', async () => {
    const pnr = '194002029801';
    await h.send(adt({ event: 'A01', visit: 'PP-2', pnr, obx: NEEDS, protection: 'Y' }));
    const created = await apiB.create<Patient>(
      {
        resourceType: 'Patient',
        identifier: [{ system: PNR_SYSTEM, value: pnr }],
        address: [{ use: 'home', line: ['Storgatan 1'], district: '1980' }],
      },
      B,
    );
    expect(labels(created)).toContain('sekretessmarkering');
    expect(labels(await h.repo.read<Patient>('Patient', created.id ?? ''))).toContain('sekretessmarkering');
  });

  it('when B’s client marked the person protected and A’s A01 without PD1-12 creates the HL7 Patient, then that Patient is protected too', async () => {
    const pnr = '193111309856';
    const { id } = await admitAtB(pnr, 'FHIR-PP-3');
    const own = await apiB.read<Patient>('Patient', id);
    await apiB.update<Patient>(
      { ...own, meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] } },
      B,
    );
    await h.send(adt({ event: 'A01', visit: 'PP-3', pnr, obx: NEEDS }));
    const { a } = await recordsOf(pnr, id);
    expect(a?.id).toBeDefined();
    expect(labels(a)).toContain('skyddadFolkbokforing');
    const forA = receiverTask(await h.tasks(encounterIdFor(VISIT_A, 'PP-3')), 'inskrivningsmeddelande');
    expect(forA?.for?.reference).toBe(`Patient/${a?.id ?? ''}`);
    expect((await asMunicipality(h.vasteras).read<Patient>('Patient', a?.id ?? '')).address).toBeUndefined();
  });

  it('when an A08 or A31 says nothing of PD1-12, then the label stays; PD1-12 "" or N lifts it', async () => {
    const pnr = '193803129828';
    await h.send(adt({ event: 'A01', visit: 'PP-4', pnr, obx: NEEDS, protection: 'Y' }));
    const only = async () => (await records(pnr))[0];
    await h.send(adt({ event: 'A08', visit: 'PP-4', pnr, obx: NEEDS }));
    expect(labels(await only())).toEqual(['sekretessmarkering']);
    await h.send(adt({ event: 'A31', noPv1: true, extra: ['PV1|1|N'], pnr }));
    expect(labels(await only())).toEqual(['sekretessmarkering']);
    await h.send(adt({ event: 'A08', visit: 'PP-4', pnr, obx: NEEDS, protection: '""' }));
    expect(labels(await only())).toEqual([]);
    await h.send(adt({ event: 'A08', visit: 'PP-4', pnr, obx: NEEDS, protection: 'Y' }));
    expect(labels(await only())).toEqual(['sekretessmarkering']);
    await h.send(adt({ event: 'A31', noPv1: true, extra: ['PV1|1|N'], pnr, protection: 'N' }));
    expect(labels(await only())).toEqual([]);
  });

  it('when A lifts the label it set (PD1-12 ""), then the gateway’s copy on B’s record is lifted too', async () => {
    const pnr = '194512249816';
    await h.send(adt({ event: 'A01', visit: 'PP-5', pnr, obx: NEEDS, protection: 'Y' }));
    const { id } = await admitAtB(pnr, 'FHIR-PP-5');
    expect(labels((await recordsOf(pnr, id)).b)).toContain('sekretessmarkering');
    await h.send(adt({ event: 'A08', visit: 'PP-5', pnr, obx: NEEDS, protection: '""' }));
    const { a, b } = await recordsOf(pnr, id);
    expect(labels(a)).toEqual([]);
    expect(labels(b)).toEqual([]);
    expect(await authorOfLatest(id)).toBe(PROTECTION_AUTHOR);
  });

  it('when A lifts its label while B marked its own record itself, then B’s stays and A’s record keeps the person protected', async () => {
    const pnr = '195207089839';
    const { id } = await admitAtB(pnr, 'FHIR-PP-6');
    const own = await apiB.read<Patient>('Patient', id);
    await apiB.update<Patient>(
      { ...own, meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'sekretessmarkering' }] } },
      B,
    );
    await h.send(adt({ event: 'A01', visit: 'PP-6', pnr, obx: NEEDS, protection: 'Y' }));
    await h.send(adt({ event: 'A08', visit: 'PP-6', pnr, obx: NEEDS, protection: '""' }));
    const { a, b } = await recordsOf(pnr, id);
    expect(labels(b)).toEqual(['sekretessmarkering']);
    // the person is still protected on B's record (B's own marking): A's record gets the label back, the gateway's
    expect(labels(a)).toEqual(['sekretessmarkering']);
    expect(await authorOfLatest(a?.id ?? '')).toBe(PROTECTION_AUTHOR);
    expect((await asMunicipality(h.vasteras).read<Patient>('Patient', a?.id ?? '')).address).toBeUndefined();
  });

  it('when B’s client lifts the label it set, then the gateway’s copy on A’s record is lifted too', async () => {
    const pnr = '196604149861';
    await h.send(adt({ event: 'A01', visit: 'PP-7', pnr, obx: NEEDS }));
    const { id } = await admitAtB(pnr, 'FHIR-PP-7');
    const own = await apiB.read<Patient>('Patient', id);
    const marked = await apiB.update<Patient>(
      { ...own, meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' }] } },
      B,
    );
    expect(labels((await recordsOf(pnr, id)).a)).toEqual(['skyddadFolkbokforing']);
    const lifted = await apiB.update<Patient>({ ...marked, meta: {} }, B);
    expect(labels(lifted)).toEqual([]);
    const { a, b } = await recordsOf(pnr, id);
    expect(labels(a)).toEqual([]);
    expect(labels(b)).toEqual([]);
  });
});

/**
 * One person, stays at two hospitals. HL7 keeps one Patient per personnummer (each sending hospital becomes one of
 * its writers); a hospital's FHIR client may hold a Patient of its own. What one hospital, or its recipients, read
 * of that Patient must not tell of the stay at the other hospital:
 * - the protected-identity notice named the first hospital that wrote the Patient ("Kontakta <A>") to B's
 *   recipients; now it names the hospital of the reader's own stay;
 * - `_history` and vread showed B the versions A's messages wrote (A's admission, its updates, and when); now a
 *   tenant gets the current version and those written by itself, the gateway or the hospital of its own stay;
 * - an HL7 message took the Patient with the lowest id: when B's client had admitted the person first, A's admission
 *   overwrote B's own Patient and made A one of its writers. Now HL7 from a hospital attaches to a Patient it
 *   writes, else to the HL7-shared one, else creates one; a protected-identity label still reaches every record.
 */
import type { Bundle, Encounter, Organization, Patient } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/fhir/constants';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import type { FhirRepository } from '../../src/store/repository.port';
import { adt } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { clientOf, createHospitalB, HSA_B, NEEDS, PNR_SYSTEM, VISIT_A, VISIT_B } from './two-hospitals';
import { intakeHarness, receiverTask, type IntakeHarness } from './harness';

describe.each(testDatabases())('a Patient shared by two hospitals on %s', (kind) => {
  let h: IntakeHarness;
  let hospitalB: Organization;
  let apiB: FhirRepository;
  const as = (org: Organization | undefined, role: 'municipality' | 'hospital') => clientOf(h, org, role);
  beforeAll(async () => {
    h = await intakeHarness(kind);
    hospitalB = await createHospitalB(h);
    apiB = as(hospitalB, 'hospital');
  });
  afterAll(async () => {
    await h.close();
  });

  /**
   * A admits first (Västerås municipality), B next (Sala, the person protected), A updates last (Västerås again:
   * B's stay stays with Sala): the shared Patient's versions 1 (A), 2 (B), 3 (A, current).
   */
  const sharedPatient = async (pnr: string, visit: string) => {
    await h.send(adt({ event: 'A01', visit, pnr, obx: NEEDS }));
    await h.send(adt({ event: 'A01', visit, pnr, obx: NEEDS, facility: HSA_B, municipality: '1981', protection: 'Y' }));
    await h.send(adt({ event: 'A08', visit, pnr, obx: NEEDS, protection: 'Y' }));
    const found = (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(found).toHaveLength(1);
    const id = found[0]?.id ?? '';
    expect(found[0]?.meta?.versionId).toBe('3');
    // Sala reaches the Patient through B's stay only, Västerås through A's only
    const stayA = encounterIdFor(VISIT_A, visit);
    const stayB = encounterIdFor(VISIT_B, visit);
    expect(receiverTask(await h.tasks(stayB), 'inskrivningsmeddelande')?.owner?.reference).toBe(
      `Organization/${h.sala.id ?? ''}`,
    );
    expect(receiverTask(await h.tasks(stayA), 'inskrivningsmeddelande')?.owner?.reference).toBe(
      `Organization/${h.vasteras.id ?? ''}`,
    );
    return id;
  };
  const noticeOf = (p: Patient | undefined) =>
    p?.extension?.find((e) => e.url === EXTENSION.protectedIdentityNotice)?.valueString;

  it('when each hospital’s recipient reads the protected Patient, then its notice names the hospital of its own stay', async () => {
    const id = await sharedPatient('194107086995', 'SH-NOTICE');
    const sala = as(h.sala, 'municipality');
    const vasteras = as(h.vasteras, 'municipality');
    const bySala = await sala.read<Patient>('Patient', id);
    expect(bySala.address).toBeUndefined();
    expect(noticeOf(bySala)).toContain('Kontakta Akademiska sjukhuset');
    expect(noticeOf(bySala)).not.toContain('Västmanlands sjukhus');
    const byVasteras = await vasteras.read<Patient>('Patient', id);
    expect(noticeOf(byVasteras)).toContain('Kontakta Västmanlands sjukhus Västerås');
    // search, history and batch entries name the same hospital
    const searched = (await sala.search<Patient>('Patient', { _id: id })).resources[0];
    expect(noticeOf(searched)).toContain('Kontakta Akademiska sjukhuset');
    for (const e of await sala.history('Patient', id))
      expect(noticeOf(e.resource as Patient)).not.toContain('Västmanlands');
    const batch = await sala.processBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Patient/${id}` } }],
    });
    expect(noticeOf(batch.entry?.[0]?.resource as Patient)).toContain('Kontakta Akademiska sjukhuset');
  });

  it('when B reads the shared Patient’s history, then the versions A’s messages wrote before are left out', async () => {
    const id = await sharedPatient('193803129828', 'SH-HIST');
    const versions = (await apiB.history('Patient', id)).map((e) => e.versionId);
    // 3 is current (a read shows it); 1 is A's admission
    expect(versions).toEqual(['3', '2']);
    await expect(apiB.vread<Patient>('Patient', id, '1')).rejects.toThrow(/no version/);
    expect((await apiB.vread<Patient>('Patient', id, '2')).meta?.versionId).toBe('2');
    const typeLevel = (await apiB.history('Patient')).filter((e) => e.id === id).map((e) => e.versionId);
    expect(typeLevel).toEqual(['3', '2']);
    const batch = await apiB.processBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${id}/_history` } },
        { request: { method: 'GET', url: `Patient/${id}/_history/1` } },
      ],
    });
    const hist = batch.entry?.[0]?.resource as Bundle;
    expect(hist.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['3', '2']);
    expect(batch.entry?.[1]?.response?.status).toMatch(/^404/);
    // Sala (B's recipient) likewise; Västerås (A's) does not get B's version
    expect((await as(h.sala, 'municipality').history('Patient', id)).map((e) => e.versionId)).toEqual(['3', '2']);
    expect((await as(h.vasteras, 'municipality').history('Patient', id)).map((e) => e.versionId)).toEqual(['3', '1']);
    // A holds versions 1 and 3; the gateway reads all
    expect((await as(h.hospital, 'hospital').history('Patient', id)).map((e) => e.versionId)).toEqual(['3', '1']);
    expect((await h.repo.history('Patient', id)).map((e) => e.versionId)).toEqual(['3', '2', '1']);
  });

  /** B's client admits the person with a FHIR transaction (its own Patient: conditional update on what B sees). */
  const admitByFhirAtB = async (pnr: string, visit: string): Promise<Patient> => {
    const text = readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')
      .replaceAll('SE2321000172-DEMO0001', HSA_B)
      .replaceAll('193111309856', pnr)
      .replaceAll('FHIR-VS-2026-0001', visit);
    const B = { author: 'b-ehr', authorOrganization: `Organization/${hospitalB.id ?? ''}` };
    await apiB.processBundle(JSON.parse(text) as Bundle, B);
    const own = (await apiB.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(own).toHaveLength(1);
    return own[0] as Patient;
  };
  const writersOf = async (id: string): Promise<string[]> =>
    (
      await h.db.query<{ w: string[] }>(
        `SELECT writer_orgs AS w FROM fhir_resource WHERE resource_type = 'Patient' AND id = $1`,
        [id],
      )
    ).rows[0]?.w ?? [];
  const subjectOfStay = async (stayId: string) =>
    (await h.repo.read<Encounter>('Encounter', stayId)).subject?.reference?.split('/')[1];
  const orgA = () => `Organization/${h.hospital.id ?? ''}`;

  it('when B’s client admitted the person first, then A’s HL7 admission creates its own Patient and leaves B’s alone', async () => {
    const pnr = '195011241220';
    const own = await admitByFhirAtB(pnr, 'FHIR-SH-ORDER1');
    await h.send(adt({ event: 'A01', visit: 'SH-ORDER1', pnr, obx: NEEDS, protection: 'Y' }));
    const patientA = await subjectOfStay(encounterIdFor(VISIT_A, 'SH-ORDER1'));
    expect(patientA).toBeDefined();
    expect(patientA).not.toBe(own.id);
    // B's Patient: B's data, B's only writer (A does not come to read it), but protected with the person
    const bNow = await h.repo.read<Patient>('Patient', own.id ?? '');
    expect(bNow.name?.[0]?.family).toBe('Lundqvist');
    expect(await writersOf(own.id ?? '')).toEqual([`Organization/${hospitalB.id ?? ''}`]);
    await expect(as(h.hospital, 'hospital').read<Patient>('Patient', own.id ?? '')).rejects.toThrow();
    expect(bNow.meta?.security?.map((c) => c.code)).toContain('sekretessmarkering');
    // A's Patient: A's data, A's recipient reads the recipient view
    const aNow = await h.repo.read<Patient>('Patient', patientA ?? '');
    expect(aNow.name?.[0]?.family).toBe('Andersson');
    expect(await writersOf(patientA ?? '')).toEqual([orgA()]);
    expect((await as(h.vasteras, 'municipality').read<Patient>('Patient', patientA ?? '')).address).toBeUndefined();
    // A's next message keeps to A's record
    await h.send(
      adt({ event: 'A08', visit: 'SH-ORDER1', pnr, obx: NEEDS, protection: 'Y', listedUnit: 'SE2321000172-VC9' }),
    );
    expect(await subjectOfStay(encounterIdFor(VISIT_A, 'SH-ORDER1'))).toBe(patientA);
    expect((await h.repo.read<Patient>('Patient', own.id ?? '')).generalPractitioner).toBeUndefined();
  });

  it('when A’s HL7 admitted the person first, then A keeps to the shared Patient and B’s HL7 to B’s own', async () => {
    const pnr = '194002029801';
    await h.send(adt({ event: 'A01', visit: 'SH-ORDER2', pnr, obx: NEEDS }));
    const shared = await subjectOfStay(encounterIdFor(VISIT_A, 'SH-ORDER2'));
    const own = await admitByFhirAtB(pnr, 'FHIR-SH-ORDER2');
    expect(own.id).not.toBe(shared);
    await h.send(adt({ event: 'A08', visit: 'SH-ORDER2', pnr, obx: NEEDS, listedUnit: 'SE2321000172-VC9' }));
    expect(await subjectOfStay(encounterIdFor(VISIT_A, 'SH-ORDER2'))).toBe(shared);
    expect(await writersOf(own.id ?? '')).toEqual([`Organization/${hospitalB.id ?? ''}`]);
    // B's own HL7 for the person goes to the Patient B writes (its client's), not to the one A shares
    await h.send(adt({ event: 'A01', visit: 'SH-ORDER2B', pnr, obx: NEEDS, facility: HSA_B }));
    expect(await subjectOfStay(encounterIdFor(VISIT_B, 'SH-ORDER2B'))).toBe(own.id);
    expect(await writersOf(shared ?? '')).toEqual([orgA()]);
  });
});

/**
 * One person, stays at two hospitals. HL7 keeps one Patient per personnummer (each sending hospital becomes one of
 * its writers); a hospital's FHIR client may hold a Patient of its own. What one hospital, or its recipients, read
 * of that Patient must not tell of the stay at the other hospital:
 * - the protected-identity notice named the first hospital that wrote the Patient ("Kontakta <A>") to B's
 *   recipients; now it names the hospital of the reader's own stay;
 * - `_history` and vread showed B the versions A's messages wrote (A's admission, its updates, and when); now a
 *   tenant gets the current version and those written by itself, the gateway or the hospital of its own stay.
 */
import type { Bundle, Organization, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/fhir/constants';
import { intakeHooks } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { intakeHarness, receiverTask, type IntakeHarness } from './harness';

const PNR_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
const HSA_B = 'SE2321000999-OTHER1';
const VISIT_A = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VISIT_B = `https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-${HSA_B}`;
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')];

describe.each(testDatabases())('a Patient shared by two hospitals on %s', (kind) => {
  let h: IntakeHarness;
  let hospitalB: Organization;
  let apiB: FhirRepository;
  const as = (org: Organization | undefined, role: 'municipality' | 'hospital') =>
    createRepository(
      h.db,
      { role, clientId: `c-${org?.id ?? ''}`, organization: `Organization/${org?.id ?? ''}` },
      intakeHooks(h.ctx),
    );
  beforeAll(async () => {
    h = await intakeHarness(kind);
    hospitalB = await h.repo.create<Organization>({
      resourceType: 'Organization',
      name: 'Akademiska sjukhuset',
      identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: HSA_B }],
    });
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
});

/**
 * A FHIR Patient write by hospital B for a person who also has an open stay at hospital A. It reached every open
 * stay of the Patient, at every hospital, stamped with B's organisation: A's stay was re-routed (or closed by a
 * death) as B's message, B's client could then search A's Tasks, and B's answer carried A's stay's engine
 * warnings. Now it follows the A31 rule (`applyPatientChange`): only B's own stays. Protected identity is about the
 * person: B marking its Patient protected hides the address from A's recipients too, also when B's client holds a
 * Patient of its own (a conditional update does not match A's).
 */
import type { Bundle, Encounter, Organization, Patient, Task } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { intakeHooks } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { withWriteNotes, writeNotes, type WriteNote } from '../../src/platform/write-notes';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository, WriteOptions } from '../../src/store/repository.port';
import { adt } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { clientOf, createHospitalB, HSA_B, NEEDS, PNR_SYSTEM, VISIT_A, VISIT_B } from './two-hospitals';
import { codeOf, intakeHarness, receiverTask, type IntakeHarness } from './harness';

describe.each(testDatabases())('a Patient write by another hospital on %s', (kind) => {
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

  /** Stays at A (no estimated discharge date: its own warning) and at B (with one), one shared Patient (HL7). */
  const twoStays = async (pnr: string, visit: string) => {
    await h.send(adt({ event: 'A01', visit, pnr, obx: NEEDS }));
    await h.send(adt({ event: 'A01', visit, pnr, obx: NEEDS, facility: HSA_B, expected: '20260125' }));
    const patient = (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(patient).toHaveLength(1);
    return { stayA: encounterIdFor(VISIT_A, visit), stayB: encounterIdFor(VISIT_B, visit), id: patient[0]?.id ?? '' };
  };
  /** B's write as its client's request answers it: the resource and the OperationOutcome notes. */
  const writeAsB = (p: Patient): Promise<WriteNote[]> =>
    withWriteNotes(async () => {
      await apiB.update<Patient>(p, B);
      return [...writeNotes()];
    });
  const factKinds = async (stayId: string): Promise<string[]> =>
    (await h.db.query<{ kind: string }>('SELECT kind FROM stay_fact WHERE stay_id = $1', [stayId])).rows.map(
      (r) => r.kind,
    );
  const notice = (tasks: Task[], org: Organization) =>
    tasks.find((t) => codeOf(t) === 'inskrivningsmeddelande' && t.owner?.reference === `Organization/${org.id ?? ''}`);
  /** Nothing of A's stay reaches B: its Encounter, its Tasks, by search or read. */
  const expectBSeesNothingOf = async (stayA: string) => {
    const tasks = (await apiB.search<Task>('Task', { _count: '100' })).resources;
    expect(tasks.filter((t) => t.encounter?.reference === `Encounter/${stayA}`)).toEqual([]);
    const encounters = (await apiB.search<Encounter>('Encounter', { _count: '100' })).resources;
    expect(encounters.map((e) => e.id)).not.toContain(stayA);
    await expect(apiB.read<Encounter>('Encounter', stayA)).rejects.toThrow();
  };

  it('when B changes the municipality, then only B’s stay is re-routed and B learns nothing of A’s stay', async () => {
    const { stayA, stayB, id } = await twoStays('194107086995', 'OH-MOVE');
    const p = await apiB.read<Patient>('Patient', id);
    const notes = await writeAsB({ ...p, address: [{ ...p.address?.[0], district: '1981' }] });

    // B's own stay: the Sala notice, Västerås's withdrawn.
    const tasksB = await h.tasks(stayB);
    expect(notice(tasksB, h.sala)?.status).toBe('requested');
    expect(notice(tasksB, h.vasteras)?.status).toBe('cancelled');
    // A's stay: untouched (left to A's own messages), and nothing stamped with B's organisation.
    expect(await factKinds(stayA)).not.toContain('patient-updated');
    const tasksA = await h.tasks(stayA);
    expect(notice(tasksA, h.sala)).toBeUndefined();
    expect(notice(tasksA, h.vasteras)?.status).toBe('requested');
    const stamped = await h.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM fhir_resource r JOIN fhir_search s ON s.resource_type = 'Task' AND s.resource_id = r.id AND s.param = 'encounter' AND s.value = $1 WHERE r.resource_type = 'Task' AND $2 = ANY(r.writer_orgs)`,
      [stayA, `Organization/${hospitalB.id ?? ''}`],
    );
    expect(stamped.rows[0]?.n).toBe(0);
    // B's answer: no warning of A's stay (A lacks the estimated discharge date, B's stay has it).
    expect(notes.map((n) => n.code)).not.toContain('no-estimated-discharge');
    await expectBSeesNothingOf(stayA);
  });

  it('when B records the death, then B’s stay is closed and A’s stay is left to A', async () => {
    const { stayA, stayB, id } = await twoStays('193803129828', 'OH-DIED');
    const p = await apiB.read<Patient>('Patient', id);
    await writeAsB({ ...p, deceasedDateTime: '2026-01-16T03:10:00+01:00' });
    expect(await factKinds(stayB)).toContain('died');
    expect(await factKinds(stayA)).not.toContain('died');
    expect((await h.tasks(stayA)).filter((t) => codeOf(t) === 'avsluta-arende')).toEqual([]);
    expect(receiverTask(await h.tasks(stayA), 'inskrivningsmeddelande')?.status).toBe('requested');
    await expectBSeesNothingOf(stayA);
  });

  /** Västerås (A's recipient) reads the Patient its Task points to. */
  const asVasteras = (patientId: string) =>
    createRepository(h.db, {
      clientId: 'c-vasteras',
      organization: `Organization/${h.vasteras.id ?? ''}`,
      role: 'municipality',
    }).read<Patient>('Patient', patientId);
  const protectedLabel = { system: SE_SECURITY_LABEL_SYSTEM, code: 'skyddadFolkbokforing' };

  it('when B marks the shared Patient protected, then A’s recipients no longer read the address', async () => {
    const { stayA, id } = await twoStays('195207089839', 'OH-PROT');
    const forA = receiverTask(await h.tasks(stayA), 'inskrivningsmeddelande')?.for?.reference;
    expect(forA).toBe(`Patient/${id}`);
    expect((await asVasteras(id)).address?.[0]?.line).toEqual(['Vasagatan 12']);
    const p = await apiB.read<Patient>('Patient', id);
    await writeAsB({ ...p, meta: { ...p.meta, security: [protectedLabel] } });
    expect((await asVasteras(id)).address).toBeUndefined();
    await expectBSeesNothingOf(stayA);
  });

  it('when B marks its own Patient of the person protected, then A’s Patient is protected too and B sees only its own', async () => {
    const pnr = '193111309856';
    await h.send(adt({ event: 'A01', visit: 'OH-OWN', pnr, obx: NEEDS }));
    const stayA = encounterIdFor(VISIT_A, 'OH-OWN');
    const patientA = receiverTask(await h.tasks(stayA), 'inskrivningsmeddelande')?.for?.reference?.split('/')[1] ?? '';
    // B's client admits the person with a FHIR transaction: its conditional update does not match A's Patient.
    const bundle = JSON.parse(
      readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8').replaceAll(
        'SE2321000172-DEMO0001',
        HSA_B,
      ),
    ) as Bundle;
    await apiB.processBundle(bundle, B);
    const own = (await apiB.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(own.map((x) => x.id)).not.toContain(patientA);
    expect(own).toHaveLength(1);
    const notes = await writeAsB({ ...(own[0] as Patient), meta: { security: [protectedLabel] } });

    const seen = await asVasteras(patientA);
    expect(seen.address).toBeUndefined();
    expect(seen.meta?.security?.map((c) => c.code)).toContain('REDACTED');
    // Written as the gateway's: B does not come to hold (or read) A's Patient, and its answer does not name it.
    await expect(apiB.read<Patient>('Patient', patientA)).rejects.toThrow();
    expect(JSON.stringify(notes)).not.toContain(patientA);
    const again = (await apiB.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(again.map((x) => x.id)).toEqual(own.map((x) => x.id));
    await expectBSeesNothingOf(stayA);
    // A's hospital still reads its own Patient whole (it holds it).
    const asA = createRepository(h.db, {
      clientId: 'demo-ehr',
      organization: `Organization/${h.hospital.id ?? ''}`,
      role: 'hospital',
    });
    expect((await asA.read<Patient>('Patient', patientA)).address?.[0]?.line).toEqual(['Vasagatan 12']);
  });

  it('when A’s A31 marks the person protected, then B’s own Patient of the person is protected too (one function)', async () => {
    const pnr = '194002029801';
    await h.send(adt({ event: 'A01', visit: 'OH-A31', pnr, obx: NEEDS }));
    const text = readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')
      .replaceAll('SE2321000172-DEMO0001', HSA_B)
      .replaceAll('193111309856', pnr)
      .replaceAll('FHIR-VS-2026-0001', 'FHIR-VS-OH-A31');
    await apiB.processBundle(JSON.parse(text) as Bundle, B);
    const all = async () => (await h.repo.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources;
    expect(await all()).toHaveLength(2);
    const a31 = adt({ event: 'A31', noPv1: true, extra: ['PV1|1|N'], pnr, protection: 'Y', control: 'OH-A31-P' });
    await h.send(a31);
    for (const p of await all()) expect(p.meta?.security?.map((c) => c.code)).toContain('sekretessmarkering');
    const own = (await apiB.search<Patient>('Patient', { identifier: `${PNR_SYSTEM}|${pnr}` })).resources[0];
    expect((await asVasteras(own?.id ?? '')).address).toBeUndefined();
  });

  it('when a municipality writes the Patient, then no stay is re-routed (it holds none)', async () => {
    const { stayA, stayB, id } = await twoStays('195011241220', 'OH-MUN');
    const organization = `Organization/${h.vasteras.id ?? ''}`;
    const mun = createRepository(
      h.db,
      { role: 'municipality', clientId: 'c-vasteras', organization },
      intakeHooks(h.ctx),
    );
    const p = await mun.read<Patient>('Patient', id);
    await mun.update<Patient>(
      { ...p, address: [{ ...p.address?.[0], district: '1981' }] },
      { author: 'c-vasteras', authorOrganization: organization },
    );
    expect(await factKinds(stayA)).not.toContain('patient-updated');
    expect(await factKinds(stayB)).not.toContain('patient-updated');
  });
});

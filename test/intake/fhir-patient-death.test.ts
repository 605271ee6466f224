import { readFileSync } from 'node:fs';
import type { Bundle, Encounter, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FhirRepository } from '../../src/store/repository.port';
import { testDatabases } from '../support/db';
import { codeOf, hospitalApi, intakeHarness, receiverTask, type IntakeHarness } from './harness';

/** Issue 13: a death recorded on the Patient over FHIR ends the open stays, as HL7 PID-29/30 does. */
const bundle = (n: string, pnr: string): Bundle => {
  const b = JSON.parse(
    readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8'),
  ) as Bundle;
  const text = JSON.stringify(b).replaceAll('FHIR-VS-2026-0001', `FHIR-VS-DEATH-${n}`).replaceAll('193111309856', pnr);
  return JSON.parse(text) as Bundle;
};

describe.each(testDatabases())('death over FHIR from Patient.deceased on %s', (kind) => {
  let h: IntakeHarness;
  let api: FhirRepository;
  let EHR: { author: string; authorOrganization: string };
  beforeAll(async () => {
    h = await intakeHarness(kind);
    ({ api, EHR } = hospitalApi(h));
  });
  afterAll(async () => {
    await h.close();
  });
  const admit = async (n: string, pnr: string): Promise<{ enc: Encounter; patient: Patient }> => {
    await api.processBundle(bundle(n, pnr), EHR);
    const enc = (
      await h.repo.search<Encounter>('Encounter', { identifier: `urn:oid:1.2.752.129.2.1.2.1|FHIR-VS-DEATH-${n}` })
    ).resources[0] as Encounter;
    const patient = await api.read<Patient>('Patient', enc.subject?.reference?.split('/')[1] ?? '');
    return { enc, patient };
  };
  const closing = (tasks: Task[]) => tasks.filter((t) => codeOf(t) === 'avsluta-arende');

  it('when the Patient is updated with deceasedDateTime, then the open stay gets the died fact: the case is closed at that time', async () => {
    const { enc, patient } = await admit('1', '194001019802');
    expect(closing(await h.tasks(enc.id ?? ''))).toEqual([]);
    await api.update<Patient>({ ...patient, deceasedDateTime: '2026-01-16T03:10:00+01:00' }, EHR);
    const tasks = await h.tasks(enc.id ?? '');
    const close = closing(tasks);
    expect(close).toHaveLength(1);
    expect(close[0]?.description).toMatch(/patienten har avlidit/);
    expect(Date.parse(close[0]?.authoredOn ?? '')).toBe(Date.parse('2026-01-16T03:10:00+01:00'));
    expect(receiverTask(tasks, 'inskrivningsmeddelande')?.status).toBe('requested'); // sent; it stays
    // Writing the same deceased Patient again adds nothing.
    const again = await api.read<Patient>('Patient', patient.id ?? '');
    await api.update<Patient>({ ...again, deceasedDateTime: '2026-01-16T03:10:00+01:00', active: true }, EHR);
    expect(closing(await h.tasks(enc.id ?? ''))).toHaveLength(1);
  });

  it('when the Patient is updated with deceasedBoolean true, then the open stay is closed too (time: the update)', async () => {
    const { enc, patient } = await admit('2', '194002029801');
    await api.update<Patient>({ ...patient, deceasedBoolean: true }, EHR);
    const close = closing(await h.tasks(enc.id ?? ''));
    expect(close).toHaveLength(1);
    expect(close[0]?.description).toMatch(/patienten har avlidit/);
  });
});

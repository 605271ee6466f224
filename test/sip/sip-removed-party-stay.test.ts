import { describe, expect, it } from 'vitest';
import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import { testDatabases } from '../support/db';
import { rerouting, VC_SALA } from './rerouting';
import { ok, sipDraft, SKULTUNA, VASTERAS } from './party-client';

/**
 * Västmanland, the hospital over HL7 v2: Skultuna vårdcentral (the named care contact) invites Västerås stad and Sala
 * vårdcentral to the SIP. Sala vårdcentral has no other part in the stay: its invitation is what shows it the
 * patient and the stay. When Skultuna removes it from the plan, the invitation is cancelled and no longer shows it
 * the stay's Encounter or Patient, by any way in (read, search, include, history); its own cancelled invitation it
 * still reads, and the plan stays closed to it (ADR 047). Västerås stad, which keeps its duties in the stay, still reads both.
 */
describe.each(testDatabases())('a party removed from the SIP no longer reads the stay, on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna', 'demo-vasteras', 'demo-vc-sala']);
  const { c, at } = gw;
  let stay = '';
  let patient = '';
  let plan: CarePlan;

  const reads = async (who: string) => {
    const r = c[who]!;
    const search = async (type: string, id: string) =>
      ((ok(await r.get(`/fhir/${type}`, { _id: id })) as Bundle).entry ?? []).length;
    const included = (
      (ok(await r.get('/fhir/Task', { focus: `CarePlan/${plan.id}`, _include: 'Task:encounter' })) as Bundle).entry ??
      []
    ).filter((e) => e.resource?.resourceType === 'Encounter').length;
    return {
      encounter: (await r.get(`/fhir/Encounter/${stay}`)).status,
      encounterHistory: (await r.get(`/fhir/Encounter/${stay}/_history`)).status,
      overview: (await r.get(`/fhir/Encounter/${stay}/$overview`)).status,
      patient: (await r.get(`/fhir/Patient/${patient}`)).status,
      patientHistory: (await r.get(`/fhir/Patient/${patient}/_history`)).status,
      encounterSearch: await search('Encounter', stay),
      patientSearch: await search('Patient', patient),
      included,
    };
  };

  it('when a party whose only part in the stay is its invitation is invited, then it reads the stay and the patient', async () => {
    const encounter = await gw.firstStay();
    stay = encounter.id ?? '';
    patient = encounter.subject?.reference?.slice('Patient/'.length) ?? '';
    await at('2026-01-17T12:00:00Z');
    expect((await c['demo-vc-sala']!.get(`/fhir/Encounter/${stay}`)).status).toBe(404);
    plan = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS, VC_SALA])),
      201,
    ) as CarePlan;
    expect(await reads('demo-vc-sala')).toEqual({
      encounter: 200,
      encounterHistory: 200,
      overview: 200,
      patient: 200,
      patientHistory: 200,
      encounterSearch: 1,
      patientSearch: 1,
      included: 1,
    });
  });

  it('when the named care contact removes it, then its cancelled invitation no longer shows it the stay or the patient, by any way in; it still reads its invitation, and a party with duties in the stay still reads both', async () => {
    await at('2026-01-18T10:30:00Z');
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const contributor = (seen.contributor ?? []).filter((x) => x.reference !== VC_SALA);
    ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, { ...seen, contributor }));

    const [invite] = await c['demo-vc-sala']!.tasks({ focus: `CarePlan/${plan.id}` });
    expect(invite?.status).toBe('cancelled');
    expect(await reads('demo-vc-sala')).toEqual({
      encounter: 404,
      encounterHistory: 404,
      overview: 404,
      patient: 404,
      patientHistory: 404,
      encounterSearch: 0,
      patientSearch: 0,
      included: 0,
    });
    expect(await reads('demo-vasteras')).toMatchObject({ encounter: 200, patient: 200, encounterSearch: 1 });
  });
});

import { describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Provenance } from '@medplum/fhirtypes';
import { testDatabases } from '../support/db';
import { rerouting } from './rerouting';
import { ok, SALA, sipDraft, SKULTUNA, VASTERAS } from './party-client';
import { allVersions, expectReadsNothingOfPlan, expectReadsPlan } from './plan-readers';

/**
 * Västmanland, the hospital over HL7 v2: Skultuna vårdcentral (the named care contact) invites Västerås stad and Sala
 * kommun to the SIP; each party writes and signs its part and the hospital approves. Then the patient is to live in
 * Sala, and Skultuna removes Västerås stad from the plan. The removed party's part leaves the current version as the
 * part of the unit the stay left does on $take-over (ADR 045): quoted in a note naming the organisations, kept in
 * the history; the other signatures hold and the hospital approves again. Västerås stad then reads nothing of the
 * plan any more (ADR 047), but its own signature.
 */
const params = (p: Record<string, string>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(p).map(([name, valueString]) => ({ name, valueString })),
});

describe.each(testDatabases())('a party removed from the SIP takes its part with it, on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna', 'demo-vasteras', 'demo-sala', 'demo-admin']);
  const { c, at } = gw;
  let plan: CarePlan;
  let stay = '';
  const parts = (p: CarePlan) => (p.activity ?? []).map((a) => a.detail?.description);

  it('when every party has signed and the named care contact removes one, then its part leaves the plan, is quoted by name in the note and kept in the history, and the others’ signatures hold', async () => {
    const encounter = await gw.firstStay();
    stay = encounter.id ?? '';
    await at('2026-01-17T12:00:00Z');
    plan = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS, SALA])),
      201,
    ) as CarePlan;
    const sign = (who: string, description: string, contact: string) =>
      c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, params({ description, contact }));
    ok(await sign('demo-vc-skultuna', 'Hembesök efter hemkomst', 'Distriktssköterska, 021-10 00 00'));
    ok(await sign('demo-vasteras', 'Hemtjänst morgon och kväll', 'Biståndshandläggare, 021-39 00 00'));
    ok(await sign('demo-sala', 'Korttidsplats i väntan på bostad', 'Biståndshandläggare, 0224-74 70 00'));
    expect((ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan).status).toBe('active');

    await at('2026-01-18T10:30:00Z');
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const contributor = (seen.contributor ?? []).filter((x) => x.reference !== VASTERAS);
    ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, { ...seen, contributor }));

    const now = ok(await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(now.contributor?.map((x) => x.reference)).toEqual([SKULTUNA, SALA]);
    expect(parts(now)).toEqual(['Hembesök efter hemkomst', 'Korttidsplats i väntan på bostad']);
    const note = now.note?.at(-1);
    expect(note?.authorReference?.reference).toBe(SKULTUNA);
    expect(note?.text).toBe(
      'Skultuna vårdcentral tog 2026-01-18 11:30 svensk tid bort Västerås stad som part i SIP:en. Västerås stads del av planen före borttagandet: Hemtjänst morgon och kväll',
    );
    // The version before the removal keeps Västerås stad's part.
    const earlier = ok(
      await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}/_history/${seen.meta?.versionId ?? ''}`),
    ) as CarePlan;
    expect(parts(earlier)).toContain('Hemtjänst morgon och kväll');
    // The hospital approved other parties: its approval is withdrawn, the parties' signatures hold.
    expect(now.status).toBe('draft');
    expect((ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan).status).toBe('active');
    // Västerås stad is no longer a party: its invitation is cancelled and it can no longer sign (it no longer sees
    // the plan: as for any plan not its own).
    const [invite] = await c['demo-vasteras']!.tasks({ focus: `CarePlan/${plan.id}`, code: 'kallelse-sip' });
    expect(invite?.status).toBe('cancelled');
    expect((await sign('demo-vasteras', 'Hemtjänst', 'Biståndshandläggare')).status).toBe(404);
  });

  it('when a party has been removed, then it reads nothing of the plan any more, by any way in, though it wrote versions and its invitation focuses the plan; it still reads its own signature; the other parties, the hospital and the admin read the plan', async () => {
    // Sala writes on after the removal: a version Västerås stad must not read either.
    const cur = ok(await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const activity = (cur.activity ?? []).map((a) =>
      a.detail?.performer?.[0]?.reference === SALA
        ? { ...a, detail: { ...a.detail, description: 'Korttidsplats i väntan på bostad i Sala' } }
        : a,
    );
    ok(await c['demo-sala']!.put(`/fhir/CarePlan/${plan.id}`, { ...cur, activity }));
    const versions = await allVersions(c['demo-admin']!, plan.id!);
    // Västerås stad wrote versions of the plan (its signed part) before it was removed: its signature stays its own
    const signatures = (
      (ok(await c['demo-admin']!.get('/fhir/Provenance', { target: `CarePlan/${plan.id}` })) as Bundle).entry ?? []
    ).map((e) => e.resource as Provenance);
    const own = signatures.filter((p) => p.agent.some((a) => a.who?.reference === VASTERAS)).map((p) => p.id ?? '');
    expect(own).toHaveLength(1);
    expect(signatures.length).toBeGreaterThan(own.length);
    await expectReadsNothingOfPlan(c['demo-vasteras']!, VASTERAS, plan.id!, stay, versions, own);
    for (const who of ['demo-vc-skultuna', 'demo-sala', 'demo-ehr', 'demo-admin'])
      await expectReadsPlan(c[who]!, plan.id!, stay, who);
  });

  it('when the named care contact removes a party together with its part, then that is allowed, and the part is quoted by name the same way', async () => {
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const removed = {
      ...seen,
      contributor: (seen.contributor ?? []).filter((x) => x.reference !== SALA),
      activity: (seen.activity ?? []).filter((a) => a.detail?.performer?.[0]?.reference !== SALA),
    };
    ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, removed));
    const now = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(parts(now)).toEqual(['Hembesök efter hemkomst']);
    const text = now.note?.at(-1)?.text ?? '';
    expect(text).toContain('Skultuna vårdcentral tog');
    expect(text).toContain('bort Sala kommun som part');
    expect(text).toContain('Korttidsplats i väntan på bostad');
    expect(text).not.toContain('Organization/');
    // Skultuna's own part and signature hold: the hospital's new approval makes the plan active again.
    expect(now.status).toBe('draft');
    expect((ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan).status).toBe('active');
  });

  it('when a party other than the author removes a party, then it is refused and nothing leaves the plan', async () => {
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const widened = { ...seen, contributor: [...(seen.contributor ?? []), { reference: VASTERAS }] };
    ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, widened));
    const cur = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const r = await c['demo-vasteras']!.put(`/fhir/CarePlan/${plan.id}`, {
      ...cur,
      contributor: (cur.contributor ?? []).filter((x) => x.reference !== SKULTUNA),
    });
    expect(r.status).toBe(403);
    const after = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(parts(after)).toEqual(['Hembesök efter hemkomst']);
  });
});

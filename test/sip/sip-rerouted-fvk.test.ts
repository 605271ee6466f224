import { describe, expect, it } from 'vitest';
import type { CarePlan, Encounter, Task } from '@medplum/fhirtypes';
import { waitFor } from '../delivery/helpers';
import { testDatabases } from '../support/db';
import { fixtureFeed, relisted, rerouting, SALA_HSA, secondVisit, VC_SALA } from './rerouting';
import { codeOf, ok, sipDraft, SKULTUNA, VASTERAS } from './party-client';

/**
 * Västmanland, the hospital over HL7 v2, the parties over FHIR: Skultuna vårdcentral (the listed unit, so the named
 * care contact) invites to the SIP; then an A08 lists the patient at Sala vårdcentral (PD1-3). The invitation was
 * Skultuna's: Sala, the FVK now, must invite, within three days of the ready notice reaching it (001 §5.2.2).
 */
describe.each(testDatabases())('a SIP invitation counts for the vårdcentral that sent it, on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna', 'demo-vc-sala']);
  const { c, at, hl7, secondStay } = gw;
  let a08 = '';
  let stay = '';
  const invitationDuties = async (stay: string): Promise<Task[]> =>
    (await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' })).filter(
      (t) => t.requester?.reference !== SKULTUNA && t.requester?.reference !== VC_SALA,
    );

  it('when the stay is re-routed to another vårdcentral after the first one invited, then the new one gets an open invitation duty with its own deadline, and the old one keeps its completed one', async () => {
    const feed = fixtureFeed();
    a08 = feed[1]!;
    await hl7(feed[0]!);
    await hl7(a08);
    let duty: Task | undefined;
    await waitFor(
      async () => {
        duty = (await c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
          (t) => t.owner?.reference === SKULTUNA,
        );
        return duty !== undefined;
      },
      10_000,
      'the invitation duty',
    );
    expect(duty?.status).toBe('requested');
    stay = duty?.encounter?.reference?.slice('Encounter/'.length) ?? '';
    const encounter = ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${stay}`)) as Encounter;

    // Skultuna invites on 2026-01-17 (the ready notice came at 09:00 that day).
    await at('2026-01-17T12:00:00Z');
    ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS])), 201);
    const invited = await invitationDuties(stay);
    expect(invited.map((t) => [t.owner?.reference, t.status])).toEqual([[SKULTUNA, 'completed']]);

    // 2026-01-18 11:00 (Stockholm): the patient is listed at Sala vårdcentral.
    await at('2026-01-18T10:30:00Z');
    await hl7(relisted(a08, SALA_HSA, 'VS-0004', '20260118110000'));
    let after: Task[] = [];
    await waitFor(
      async () => (after = await invitationDuties(stay)).some((t) => t.owner?.reference === VC_SALA),
      10_000,
      'the invitation duty of the new vårdcentral',
    );
    const sala = after.find((t) => t.owner?.reference === VC_SALA);
    const skultuna = after.find((t) => t.owner?.reference === SKULTUNA);
    // Sala must invite: the ready notice reached it at the re-routing, so its three days (to the end of the third
    // day, 001 §5.2.2 as Västmanland reads it) run from 2026-01-18, not from Skultuna's 2026-01-17.
    expect(sala?.status).toBe('requested');
    expect(sala?.restriction?.period?.end).toBe('2026-01-21T22:59:59.999Z');
    expect(skultuna?.restriction?.period?.end).toBe('2026-01-20T22:59:59.999Z');
    // Skultuna's invitation was sent while it was the FVK: its duty stays completed, and is not withdrawn.
    expect(skultuna?.status).toBe('completed');
    const all = await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}` });
    expect(
      all.filter((t) => codeOf(t) === 'makulering' && t.focus?.reference === `Task/${skultuna?.id ?? ''}`),
    ).toEqual([]);
  });

  it('when the new vårdcentral takes the plan over, then its own duty is met, and the one the stay left may neither invite nor revoke its plan', async () => {
    const encounter = ok(await c['demo-vc-sala']!.get(`/fhir/Encounter/${stay}`)) as Encounter;
    const open = (await c['demo-vc-skultuna']!.get('/fhir/CarePlan', { encounter: `Encounter/${stay}` })).body as {
      entry: { resource: CarePlan }[];
    };
    const old = open.entry[0]!.resource;
    // The stay has Skultuna's open plan: one open plan per stay, so the new FVK takes that one over (ADR 045).
    expect((await c['demo-vc-sala']!.post('/fhir/CarePlan', sipDraft(encounter, VC_SALA, [VASTERAS]))).status).toBe(
      409,
    );
    // Skultuna, no longer the named care contact, may not withdraw the plan (and every party's part with it)...
    const revoked = await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${old.id}`, { ...old, status: 'revoked' });
    expect(revoked.status).toBe(403);
    expect(JSON.stringify(revoked.body)).toContain(`/fhir/CarePlan/${old.id}/$take-over`);
    // ...nor invite again with a plan of its own: the stay left it, so it reads the stay no more, and the answer is
    // the one for a stay it does not know, naming nobody the stay went to
    const again = await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS]));
    expect(again.status, JSON.stringify(again.body)).toBe(422);
    expect(JSON.stringify(again.body)).toContain('is not known (or not visible to you)');
    expect(JSON.stringify(again.body)).not.toContain('Sala');
    await at('2026-01-19T09:00:00Z');
    ok(await c['demo-vc-sala']!.post(`/fhir/CarePlan/${old.id}/$take-over`));
    const duties = await invitationDuties(stay);
    expect(duties.map((t) => [t.owner?.reference, t.status]).sort()).toEqual([
      [VC_SALA, 'completed'],
      [SKULTUNA, 'completed'],
    ]);
  });

  it('when the vårdcentral the stay left tries to invite through the plan it started, then it is refused by the new one’s name, nobody is invited and the new one’s duty stays open', async () => {
    const second = await secondStay(stay);
    const encounter = ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${second}`)) as Encounter;
    // Skultuna starts the plan while it is the FVK, inviting nobody yet: no invitation is sent.
    const plan = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [])),
      201,
    ) as CarePlan;
    await at('2026-01-20T10:00:00Z');
    await hl7(relisted(secondVisit(a08), SALA_HSA, 'VS-0105', '20260120105000'));
    await waitFor(
      async () => (await invitationDuties(second)).some((t) => t.owner?.reference === VC_SALA),
      10_000,
      'the invitation duty of the new vårdcentral',
    );
    // Now Skultuna, no longer the FVK, tries to invite Västerås through its plan: that is the FVK's, so it is refused
    // with Sala's name and the way for Sala to take the plan over...
    const r = await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, {
      ...plan,
      contributor: [...(plan.contributor ?? []), { reference: VASTERAS }],
    });
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toContain('Sala vårdcentral');
    expect(JSON.stringify(r.body)).toContain(`/fhir/CarePlan/${plan.id}/$take-over`);
    const sent = await c['demo-ehr']!.tasks({ encounter: `Encounter/${second}`, code: 'kallelse-sip' });
    expect(sent.filter((t) => t.owner?.reference === VASTERAS)).toEqual([]);
    // ...Sala's duty stays open, and Skultuna's own duty was withdrawn when the stay left it.
    const duties = await invitationDuties(second);
    expect(duties.map((t) => [t.owner?.reference, t.status]).sort()).toEqual([
      [VC_SALA, 'requested'],
      [SKULTUNA, 'cancelled'],
    ]);
  });
});

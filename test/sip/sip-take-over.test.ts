import { describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Bundle, CarePlan, Communication, Encounter, Provenance, Task } from '@medplum/fhirtypes';
import { systemRepository } from '../../src/compose';
import { waitFor } from '../delivery/helpers';
import { testDatabases } from '../support/db';
import { fixtureFeed, relisted, rerouting, SALA_HSA, secondVisit, VC_SALA } from './rerouting';
import { ok, SALA, sipDraft, SKULTUNA, VASTERAS } from './party-client';
import { allVersions, expectReadsNothingOfPlan, expectReadsPlan } from './plan-readers';

/**
 * Västmanland, the hospital over HL7 v2: Skultuna vårdcentral (the named care contact) creates the SIP and invites
 * Västerås stad; then an A08 lists the patient at Sala vårdcentral. Sala, the named care contact now, takes the
 * plan over (ADR 045): the plan stays the stay's one plan with Västerås' signed part, Skultuna leaves it, and both
 * units are told by name.
 */
const params = (p: Record<string, string>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(p).map(([name, valueString]) => ({ name, valueString })),
});

describe.each(testDatabases())('the named care contact after a re-routing takes the SIP over, on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna', 'demo-vc-sala', 'demo-vasteras', 'demo-admin']);
  const { c, at, hl7, secondStay } = gw;
  let stay = '';
  let plan: CarePlan;
  /** The FVKs' own invitation duties (the engine's), not the plan's invitations to the parties. */
  const invitationDuties = async (): Promise<[string | undefined, string][]> =>
    (await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' }))
      .filter((t) => t.requester?.reference !== SKULTUNA && t.requester?.reference !== VC_SALA)
      .map((t): [string | undefined, string] => [t.owner?.reference, t.status])
      .sort();

  /** The unit the stay left writes the plan with a JSON Patch, or in a transaction Bundle of one entry. */
  const patch = (ops: unknown[]) =>
    request(gw.shell.gateway.app)
      .patch(`/fhir/CarePlan/${plan.id}`)
      .auth(c['demo-vc-skultuna']!.token, { type: 'bearer' })
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify(ops));
  const transaction = (entry: unknown) =>
    c['demo-vc-skultuna']!.post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
  const putEntry = (resource: CarePlan) => ({ resource, request: { method: 'PUT', url: `CarePlan/${plan.id}` } });
  const patchEntry = (ops: unknown[]) => ({
    resource: {
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from(JSON.stringify(ops)).toString('base64'),
    },
    request: { method: 'PATCH', url: `CarePlan/${plan.id}` },
  });

  it('when the stay is re-routed after the first vårdcentral created the SIP, then the new one is pointed to the take-over, by name, instead of a dead end', async () => {
    const feed = fixtureFeed();
    const encounter = await gw.firstStay();
    stay = encounter.id ?? '';
    await at('2026-01-17T12:00:00Z');
    plan = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS])),
      201,
    ) as CarePlan;
    ok(
      await c['demo-vc-skultuna']!.post(
        `/fhir/CarePlan/${plan.id}/$sign`,
        params({ description: 'Hembesök efter hemkomst', contact: 'Distriktssköterska, 021-10 00 00' }),
      ),
    );
    ok(
      await c['demo-vasteras']!.post(
        `/fhir/CarePlan/${plan.id}/$sign`,
        params({ description: 'Hemtjänst morgon och kväll', contact: 'Biståndshandläggare, 021-39 00 00' }),
      ),
    );

    await at('2026-01-18T10:30:00Z');
    await hl7(relisted(feed[1]!, SALA_HSA, 'VS-0004', '20260118110000'));
    await waitFor(
      async () => (await invitationDuties()).some(([owner]) => owner === VC_SALA),
      10_000,
      'the invitation duty of the new vårdcentral',
    );
    const second = await c['demo-vc-sala']!.post('/fhir/CarePlan', sipDraft(encounter, VC_SALA, [VASTERAS]));
    expect(second.status).toBe(409);
    const said = JSON.stringify(second.body);
    expect(said).toContain('Skultuna vårdcentral');
    expect(said).toContain(`/fhir/CarePlan/${plan.id}/$take-over`);
  });

  it('when the unit the stay left tries to take the plan over, then it is refused, told the stay left it, naming nobody the stay went to', async () => {
    const r = await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$take-over`);
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toContain('has left your organisation');
    expect(JSON.stringify(r.body)).not.toContain('Sala');
  });

  it('when the unit the stay left acts as the plan’s author before the take-over, then it is refused, naming the named care contact and the take-over; it still signs its own part', async () => {
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const refused = (r: request.Response, what: string): void => {
      expect(r.status, what).toBe(403);
      const said = JSON.stringify(r.body);
      expect(said, what).toContain('Skultuna vårdcentral is no longer');
      expect(said, what).toContain('Sala vårdcentral');
      expect(said, what).toContain(`POST /fhir/CarePlan/${plan.id}/$take-over`);
      expect(said, what).not.toContain('Organization/');
    };
    const put = (body: CarePlan) => c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, body);
    // Revoking would throw away Västerås' signed part; inviting, moving the meeting and recording it are the FVK's.
    refused(await put({ ...seen, status: 'revoked' }), 'revoke');
    refused(await put({ ...seen, contributor: [...(seen.contributor ?? []), { reference: SALA }] }), 'invite');
    refused(await put({ ...seen, extension: [] }), 'the meeting');
    refused(await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`), '$meeting-held');
    // As a party it still writes and signs its own part.
    const own = params({ description: 'Hembesök efter hemkomst', contact: 'Distriktssköterska, 021-10 00 01' });
    ok(await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$sign`, own));
    const now = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect([now.status, now.author?.reference, now.contributor?.map((x) => x.reference)]).toEqual([
      'draft',
      SKULTUNA,
      [SKULTUNA, VASTERAS],
    ]);
    const invited = await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' });
    expect(invited.filter((t) => t.owner?.reference === SALA)).toEqual([]);
  });

  it('when the unit the stay left acts as the plan’s author with a JSON Patch or in a transaction Bundle, then it is refused as for a PUT; it still writes and signs its own part both ways', async () => {
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const refused = (r: request.Response, what: string): void => {
      expect(r.status, what).toBe(403);
      const said = JSON.stringify(r.body);
      expect(said, what).toContain(
        "Skultuna vårdcentral is no longer the stay's named care contact; Sala vårdcentral is.",
      );
      expect(said, what).toContain(
        `Sala vårdcentral takes this SIP over with POST /fhir/CarePlan/${plan.id}/$take-over`,
      );
      expect(said, what).toContain('Until then Skultuna vårdcentral writes and signs only its own part.');
      expect(said, what).not.toContain('Organization/');
    };
    const revoke = [{ op: 'replace', path: '/status', value: 'revoked' }];
    const invite = [{ op: 'add', path: '/contributor/-', value: { reference: SALA } }];
    const meeting = [{ op: 'remove', path: '/extension' }];
    refused(await patch(revoke), 'PATCH revoke');
    refused(await patch(invite), 'PATCH invite');
    refused(await patch(meeting), 'PATCH the meeting');
    refused(await transaction(putEntry({ ...seen, status: 'revoked' })), 'transaction PUT revoke');
    refused(
      await transaction(putEntry({ ...seen, contributor: [...(seen.contributor ?? []), { reference: SALA }] })),
      'transaction PUT invite',
    );
    refused(await transaction(patchEntry(revoke)), 'transaction PATCH revoke');
    const unchanged = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(unchanged.meta?.versionId).toBe(seen.meta?.versionId);

    // As a party it still writes its own part, by a JSON Patch and in a transaction, and signs it.
    const own = (seen.activity ?? []).findIndex((a) => a.detail?.performer?.[0]?.reference === SKULTUNA);
    expect(own).toBeGreaterThanOrEqual(0);
    const described = (text: string) => [{ op: 'replace', path: `/activity/${own}/detail/description`, value: text }];
    ok(await patch(described('Hembesök efter hemkomst, dag 1')));
    ok(await transaction(patchEntry(described('Hembesök efter hemkomst, dag 1 och 3'))));
    const cur = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    const activity = (cur.activity ?? []).map((a, i) =>
      i === own && a.detail ? { ...a, detail: { ...a.detail, description: 'Hembesök efter hemkomst' } } : a,
    );
    ok(await transaction(putEntry({ ...cur, activity })));
    ok(await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$sign`));
    const now = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect([now.status, now.author?.reference, now.contributor?.map((x) => x.reference)]).toEqual([
      'draft',
      SKULTUNA,
      [SKULTUNA, VASTERAS],
    ]);
    expect(now.activity?.[own]?.detail?.description).toBe('Hembesök efter hemkomst');
  });

  it('when the new vårdcentral takes the plan over, then it is the plan’s author, the other parts and signatures stay, and its own invitation duty is met', async () => {
    await at('2026-01-19T09:00:00Z');
    const taken = ok(
      await c['demo-vc-sala']!.post(`/fhir/CarePlan/${plan.id}/$take-over`, params({ reason: 'Ny listning' })),
    ) as CarePlan;
    expect(taken.id).toBe(plan.id);
    expect(taken.author).toEqual({ reference: VC_SALA, display: 'Sala vårdcentral' });
    expect(taken.contributor?.map((x) => x.reference)).toEqual([VC_SALA, VASTERAS]);
    // Västerås' part stays; Skultuna's leaves the current version and is quoted in the note.
    expect(taken.activity?.map((a) => a.detail?.description)).toEqual(['Hemtjänst morgon och kväll']);
    const note = taken.note?.at(-1)?.text ?? '';
    expect(note).toContain('Sala vårdcentral');
    expect(note).toContain('Skultuna vårdcentral');
    expect(note).toContain('Hembesök efter hemkomst');
    expect(note).toContain('Ny listning');
    // The take-over is a Provenance beside the signatures: the version Sala wrote, Sala and the unit it took over from.
    const takenOver = async (reader: string) =>
      ((ok(await c[reader]!.get('/fhir/Provenance', { target: `CarePlan/${plan.id}` })) as Bundle).entry ?? [])
        .map((e) => e.resource as Provenance)
        .filter((p) => p.activity?.coding?.some((x) => x.code === 'overtagande'));
    const [recorded, ...more] = await takenOver('demo-vasteras');
    expect(more).toEqual([]);
    expect(recorded?.target).toEqual([{ reference: `CarePlan/${plan.id}/_history/${taken.meta?.versionId}` }]);
    expect(recorded?.agent.map((a) => [a.who?.reference, a.who?.display])).toEqual([
      [VC_SALA, 'Sala vårdcentral'],
      [SKULTUNA, 'Skultuna vårdcentral'],
    ]);
    expect(recorded?.reason?.[0]?.text).toBe('Ny listning');
    expect(recorded?.signature).toBeUndefined();
    expect((await takenOver('demo-vc-skultuna')).map((p) => p.id)).toEqual([recorded?.id]);
    expect(await invitationDuties()).toEqual([
      [VC_SALA, 'completed'],
      [SKULTUNA, 'completed'],
    ]);
    // Västerås' invitation (acknowledged by its signature) stands, now from Sala: Sala follows it, Skultuna no longer
    // acts on it
    const [invitation, ...others] = (
      await c['demo-admin']!.tasks({ focus: `CarePlan/${plan.id}`, code: 'kallelse-sip', owner: VASTERAS })
    ).filter((t) => t.status !== 'cancelled');
    expect(others).toEqual([]);
    expect([invitation?.status, invitation?.requester]).toEqual([
      'accepted',
      { reference: VC_SALA, display: 'Sala vårdcentral' },
    ]);
    expect(invitation?.description).toContain('från Sala vårdcentral');
    expect((ok(await c['demo-vc-sala']!.get(`/fhir/Task/${invitation?.id}`)) as Task).requester?.reference).toBe(
      VC_SALA,
    );
    const takenBack = await c['demo-vc-skultuna']!.put(`/fhir/Task/${invitation?.id}`, {
      ...invitation,
      requester: { reference: SKULTUNA },
    });
    // the unit the stay left neither changes nor reads it any more (it is no longer its requester)
    expect(takenBack.status).toBe(404);
    expect((await c['demo-vc-skultuna']!.get(`/fhir/Task/${invitation?.id}`)).status).toBe(404);
    // Taking over again changes nothing.
    const again = ok(await c['demo-vc-sala']!.post(`/fhir/CarePlan/${plan.id}/$take-over`)) as CarePlan;
    expect(again.meta?.versionId).toBe(taken.meta?.versionId);
    expect(await takenOver('demo-vasteras')).toHaveLength(1);
  });

  it('when both units read their comments, then each is told by name who took the plan over from whom', async () => {
    for (const reader of ['demo-vc-skultuna', 'demo-vasteras']) {
      const r = ok(await c[reader]!.get('/fhir/Communication', { encounter: `Encounter/${stay}` })) as Bundle;
      const texts = (r.entry ?? []).map((e) => (e.resource as Communication).payload?.[0]?.contentString ?? '');
      const told = texts.find((t) => t.includes('tagit över SIP'));
      expect(told, reader).toContain('Sala vårdcentral');
      expect(told, reader).toContain('Skultuna vårdcentral');
      expect(told, reader).not.toContain('Organization/');
    }
  });

  it('when the unit the stay left acts on the plan, then it no longer can; the new one holds the meeting and the plan turns active', async () => {
    // It is no longer a party: it no longer sees the plan, though it wrote versions of it (ADR 047), so it neither
    // changes the plan nor records the meeting, and is answered as for any plan not its own.
    const seen = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(seen.author?.reference).toBe(VC_SALA);
    const meeting = { ...seen, extension: [] };
    expect((await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, meeting)).status).toBe(404);
    // The same for a JSON Patch and a transaction entry (PUT or PATCH), also of what was its own part.
    const description = [{ op: 'add', path: '/activity/0/detail/description', value: 'Hembesök' }];
    for (const [what, r] of [
      ['PATCH', await patch([{ op: 'remove', path: '/extension' }])],
      ['PATCH a part', await patch(description)],
      ['transaction PUT', await transaction(putEntry(meeting))],
      ['transaction PATCH', await transaction(patchEntry(description))],
    ] as const) {
      expect(r.status, what).toBe(404);
      expect(JSON.stringify(r.body), what).toContain('not known (or not visible to you)');
    }
    expect((await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`)).status).toBe(404);
    const sign = params({ description: 'Hembesök', contact: 'Distriktssköterska' });
    expect((await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$sign`, sign)).status).toBe(404);
    ok(
      await c['demo-vc-sala']!.post(
        `/fhir/CarePlan/${plan.id}/$sign`,
        params({ description: 'Uppföljning på vårdcentralen', contact: 'Vårdsamordnare, 0224-10 00 00' }),
      ),
    );
    // Västerås signed before the take-over: its signature still holds, so the hospital's approval makes it active.
    const approved = ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan;
    expect(approved.status).toBe('active');
    ok(await c['demo-vc-sala']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`));
  });

  it('when the plan has been taken over, then the unit the stay left reads nothing of it any more, by any way in, though it wrote versions; it still reads its own signatures and the take-over; the new unit, the party, the hospital and the admin read the plan', async () => {
    const versions = await allVersions(c['demo-admin']!, plan.id!);
    const provenances = (
      (ok(await c['demo-admin']!.get('/fhir/Provenance', { target: `CarePlan/${plan.id}` })) as Bundle).entry ?? []
    ).map((e) => e.resource as Provenance);
    // its signatures and the take-over, which names it as the unit the plan was taken over from
    const own = provenances.filter((p) => p.agent.some((a) => a.who?.reference === SKULTUNA)).map((p) => p.id ?? '');
    expect(own.length).toBeGreaterThanOrEqual(2);
    expect(provenances.length).toBeGreaterThan(own.length);
    await expectReadsNothingOfPlan(c['demo-vc-skultuna']!, SKULTUNA, plan.id!, stay, versions, own, 'left');
    for (const who of ['demo-vc-sala', 'demo-vasteras', 'demo-ehr', 'demo-admin'])
      await expectReadsPlan(c[who]!, plan.id!, stay, who);
  });

  it('when the plan of the unit the stay left is on hold, then the new vårdcentral takes it over as well, and it stays on hold; the invitation it had to the plan is cancelled saying it took the plan over', async () => {
    const second = await secondStay(stay);
    const encounter = ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${second}`)) as Encounter;
    // Skultuna invites Sala vårdcentral too (e.g. for the follow-up), before the patient is listed there.
    const held = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS, VC_SALA])),
      201,
    ) as CarePlan;
    // An admin puts the plan on hold (the parties set only completed or revoked).
    const repo = systemRepository(gw.shell.db);
    await repo.update<CarePlan>({ ...(await repo.read<CarePlan>('CarePlan', held.id!)), status: 'on-hold' });
    await at('2026-01-20T10:00:00Z');
    await hl7(
      relisted(secondVisit(fixtureFeed()[1]!).replace('|VS-0102|', '|VS-0002|'), SALA_HSA, 'VS-0105', '20260120105000'),
    );
    await waitFor(
      async () =>
        (await c['demo-ehr']!.tasks({ encounter: `Encounter/${second}`, code: 'kallelse-sip' })).some(
          (t) => t.owner?.reference === VC_SALA,
        ),
      10_000,
      'the invitation duty of the new vårdcentral',
    );
    expect((await c['demo-vc-sala']!.post('/fhir/CarePlan', sipDraft(encounter, VC_SALA, [VASTERAS]))).status).toBe(
      409,
    );
    const taken = ok(await c['demo-vc-sala']!.post(`/fhir/CarePlan/${held.id}/$take-over`)) as CarePlan;
    expect([taken.author?.reference, taken.status]).toEqual([VC_SALA, 'on-hold']);
    // Sala's staff find the invitation they got from Skultuna cancelled, and why: Sala holds the plan now.
    const own = (await c['demo-vc-sala']!.tasks({ encounter: `Encounter/${second}`, code: 'kallelse-sip' })).find(
      (t) => t.focus?.reference === `CarePlan/${held.id}` && t.owner?.reference === VC_SALA,
    );
    expect(own?.status).toBe('cancelled');
    const why = own?.statusReason?.text ?? '';
    expect(why).toContain('Sala vårdcentral har tagit över SIP:en från Skultuna vårdcentral');
    expect(why).toContain('planens ägare');
    expect(why).not.toContain('inte längre kallad');
    expect(why).not.toContain('Organization/');
  });
});

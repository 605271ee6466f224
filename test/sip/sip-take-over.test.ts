import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Bundle, CarePlan, Communication, Encounter, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { saveClient } from '../../src/auth/client-store';
import { systemRepository } from '../../src/compose';
import { splitHl7Messages } from '../../src/intake/hl7v2/split-messages';
import { ManualClock } from '../../src/platform/clock';
import { waitFor } from '../delivery/helpers';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import { ok, partyClient, SALA, sipDraft, SKULTUNA, VASTERAS, type PartyClient } from './party-client';

/**
 * Västmanland, the hospital over HL7 v2: Skultuna vårdcentral (the named care contact) creates the SIP and invites
 * Västerås stad; then an A08 lists the patient at Sala vårdcentral. Sala, the named care contact now, takes the
 * plan over (ADR 045): the plan stays the stay's one plan with Västerås' signed part, Skultuna leaves it, and both
 * units are told by name.
 */
const VC_SALA = 'Organization/vc-sala';
const SALA_HSA = 'SE2321000172-DEMO0102';
const SKULTUNA_HSA = 'SE2321000172-DEMO0101';

function relisted(a08: string, hsa: string, control: string, time: string): string {
  return a08.replaceAll(SKULTUNA_HSA, hsa).replace('|VS-0002|', `|${control}|`).replaceAll('20260117091500', time);
}

const params = (p: Record<string, string>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(p).map(([name, valueString]) => ({ name, valueString })),
});

describe.each(testDatabases())('the named care contact after a re-routing takes the SIP over, on %s', (kind) => {
  let shell: Shell;
  const clock = new ManualClock('2026-01-15T10:00:00Z');
  const c: Record<string, PartyClient> = {};
  let stay = '';
  let plan: CarePlan;

  beforeAll(async () => {
    shell = await openShell({
      kind,
      clock,
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' },
    });
    await loadDemoRegion(shell.db, systemRepository);
    await saveClient(shell.db, {
      clientId: 'demo-vc-sala',
      secret: 'demo-vc-sala-secret',
      role: 'primary-care',
      organization: VC_SALA,
      allowedScopes: [
        'system/Task.rus',
        'system/Encounter.rs',
        'system/Patient.rs',
        'system/CarePlan.crus',
        'system/Communication.rs',
      ],
    });
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
    await at('2026-01-15T10:00:00Z');
  });
  afterAll(async () => shell.close());

  const at = async (time: string): Promise<void> => {
    clock.set(time);
    for (const id of ['demo-ehr', 'demo-vc-skultuna', 'demo-vc-sala', 'demo-vasteras'])
      c[id] = await partyClient(shell.gateway.app, id);
  };
  const hl7 = async (msg: string): Promise<void> => {
    const r = await request(shell.gateway.app)
      .post('/hl7v2')
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .auth(c['demo-ehr']!.token, { type: 'bearer' })
      .send(msg);
    expect(r.text).toContain('MSA|AA');
  };
  /** The FVKs' own invitation duties (the engine's), not the plan's invitations to the parties. */
  const invitationDuties = async (): Promise<[string | undefined, string][]> =>
    (await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' }))
      .filter((t) => t.requester?.reference !== SKULTUNA && t.requester?.reference !== VC_SALA)
      .map((t): [string | undefined, string] => [t.owner?.reference, t.status])
      .sort();

  it('when the stay is re-routed after the first vårdcentral created the SIP, then the new one is pointed to the take-over, by name, instead of a dead end', async () => {
    const feed = splitHl7Messages(readFileSync('test/fixtures/hl7/vasteras-stay.hl7', 'utf8'));
    await hl7(feed[0]!);
    await hl7(feed[1]!);
    let duty: Task | undefined;
    await waitFor(
      async () =>
        (duty = (await c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
          (t) => t.owner?.reference === SKULTUNA,
        )) !== undefined,
      10_000,
      'the invitation duty',
    );
    stay = duty?.encounter?.reference?.slice('Encounter/'.length) ?? '';
    const encounter = ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${stay}`)) as Encounter;
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

  it('when the unit the stay left tries to take the plan over, then it is refused, naming the named care contact', async () => {
    const r = await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$take-over`);
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toContain('Sala vårdcentral');
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
    expect(await invitationDuties()).toEqual([
      [VC_SALA, 'completed'],
      [SKULTUNA, 'completed'],
    ]);
    // Taking over again changes nothing.
    const again = ok(await c['demo-vc-sala']!.post(`/fhir/CarePlan/${plan.id}/$take-over`)) as CarePlan;
    expect(again.meta?.versionId).toBe(taken.meta?.versionId);
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
    // It still reads the plan it wrote (the tenant rules: what an organisation wrote stays visible to it), but it is
    // no longer a party: it neither changes the plan nor records the meeting.
    const seen = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
    expect(seen.author?.reference).toBe(VC_SALA);
    const meeting = { ...seen, extension: [] };
    expect((await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, meeting)).status).toBe(403);
    expect((await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`)).status).toBe(403);
    const sign = params({ description: 'Hembesök', contact: 'Distriktssköterska' });
    expect((await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$sign`, sign)).status).toBe(403);
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

  it('when the plan of the unit the stay left is on hold, then the new vårdcentral takes it over as well, and it stays on hold; the invitation it had to the plan is cancelled saying it took the plan over', async () => {
    const visit = (msg: string): string =>
      msg.replaceAll('VS-20260115-0001', 'VS-20260115-0002').replace(/\|VS-000(\d)\|/, '|VS-010$1|');
    const feed = splitHl7Messages(readFileSync('test/fixtures/hl7/vasteras-stay.hl7', 'utf8')).map(visit);
    await at('2026-01-20T08:00:00Z');
    await hl7(feed[0]!.replaceAll('20260115103500', '20260120090000'));
    let second = '';
    await waitFor(
      async () => {
        const t = (await c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
          (x) => x.owner?.reference === SKULTUNA && x.encounter?.reference !== `Encounter/${stay}`,
        );
        second = t?.encounter?.reference?.slice('Encounter/'.length) ?? '';
        return second !== '';
      },
      10_000,
      'the second stay',
    );
    const encounter = ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${second}`)) as Encounter;
    // Skultuna invites Sala vårdcentral too (e.g. for the follow-up), before the patient is listed there.
    const held = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS, VC_SALA])),
      201,
    ) as CarePlan;
    // An admin puts the plan on hold (the parties set only completed or revoked).
    const repo = systemRepository(shell.db);
    await repo.update<CarePlan>({ ...(await repo.read<CarePlan>('CarePlan', held.id!)), status: 'on-hold' });
    await at('2026-01-20T10:00:00Z');
    await hl7(relisted(feed[1]!.replace('|VS-0102|', '|VS-0002|'), SALA_HSA, 'VS-0105', '20260120105000'));
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

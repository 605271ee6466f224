import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Encounter, Provenance, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { CODE_SYSTEM, EXTENSION, PROFILE } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import request from 'supertest';
import type { CaseOverview } from '../../src/case-overview/case-overview';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  codeOf,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  SALA,
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from './party-client';

/**
 * A whole stay through the API with each party's own client, for the two agreements whose FVK is the vårdcentral
 * (Jönköping: the vårdsamordnare; Gävleborg without home health care): admission → answers → FVK appointed →
 * ready → SIP created
 * and invited → each party signs → hospital approves → meeting held → follow-up due one month later → case closed.
 */
describe.each(testDatabases().flatMap((kind) => ['jonkoping', 'gavleborg'].map((a) => [kind, a] as const)))(
  'the SIP of a stay on %s under %s',
  (kind, agreement) => {
    let shell: Shell;
    let validator: Validator;
    const c: Record<string, PartyClient> = {};
    let encounter: Encounter;
    let plan: CarePlan;

    beforeAll(async () => {
      shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: agreement } });
      await loadDemoRegion(shell.db, systemRepository);
      for (const id of ['demo-ehr', 'demo-vasteras', 'demo-sala', 'demo-vc-skultuna'])
        c[id] = await partyClient(shell.gateway.app, id);
      validator = await createValidator();
    });
    afterAll(async () => shell.close());

    const valid = (r: { meta?: { profile?: string[] } }, profile?: string) =>
      expect(validator.check(r as never, profile ?? r.meta?.profile?.[0]), JSON.stringify(r)).toEqual([]);

    it('when the hospital admits and marks the patient ready, then the vårdcentral is asked to invite to a SIP', async () => {
      const bundle = admission(`sip-${agreement}`, '191212121212', '2026-11-28T08:00:00+01:00', needsCD());
      const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
      const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
      encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
      // The municipality answers its admission notification; the hospital reads the answer on that Task.
      const [notice] = await c['demo-vasteras']!.tasks({
        encounter: `Encounter/${id}`,
        code: 'inskrivningsmeddelande',
      });
      const answered = ok(
        await c['demo-vasteras']!.put(`/fhir/Task/${notice!.id}`, {
          ...notice,
          status: 'received',
          output: [
            {
              type: { coding: [{ system: CODE_SYSTEM.taskOutput, code: 'aktuella-insatser' }] },
              valueString: 'Hemtjänst',
            },
            {
              type: { coding: [{ system: CODE_SYSTEM.taskOutput, code: 'boende' }] },
              valueString: 'Lägenhet med hiss',
            },
          ],
        }),
      ) as Task;
      valid(answered);
      const seen = ok(await c['demo-ehr']!.get(`/fhir/Task/${notice!.id}`)) as Task;
      expect(seen.output?.map((o) => o.valueString)).toEqual(['Hemtjänst', 'Lägenhet med hiss']);
      // The vårdcentral appoints the named care contact: its utse-fast-vardkontakt duty is completed, on time.
      const [appoint] = await c['demo-vc-skultuna']!.tasks({
        encounter: `Encounter/${id}`,
        code: 'utse-fast-vardkontakt',
      });
      expect(appoint?.owner?.reference).toBe(SKULTUNA);
      let t = appoint!;
      for (const status of ['received', 'accepted', 'completed'])
        t = ok(await c['demo-vc-skultuna']!.put(`/fhir/Task/${t.id}`, { ...t, status })) as Task;
      valid(t);
      expect(t.status).toBe('completed');
      const ready = withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' }));
      encounter = ok(await c['demo-ehr']!.put(`/fhir/Encounter/${id}`, ready)) as Encounter;
      const vc = await c['demo-vc-skultuna']!.tasks({ encounter: `Encounter/${id}` });
      expect(vc.find((t) => codeOf(t) === 'kallelse-sip')?.status).toBe('requested');
    });

    it('when another party than the named care contact creates the SIP, then it is refused naming who may', async () => {
      const r = await c['demo-vasteras']!.post('/fhir/CarePlan', sipDraft(VASTERAS));
      expect(r.status).toBe(403);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.body.issue[0].diagnostics).toMatch(/^Only the named care contact, Skultuna vårdcentral,/);
    });

    it('when a party of no part in the stay creates its SIP, then it is told the same as for a stay that does not exist', async () => {
      const sala = 'Organization/kommun-1981';
      const theirs = await c['demo-sala']!.post('/fhir/CarePlan', sipDraft(sala));
      const none = await c['demo-sala']!.post('/fhir/CarePlan', {
        ...sipDraft(sala),
        encounter: { reference: 'Encounter/hl7-doesnotexist' },
      });
      expect([theirs.status, none.status]).toEqual([422, 422]);
      const text = (r: typeof theirs) => String(r.body.issue[0].diagnostics).replace(/Encounter\/\S+/, 'Encounter/x');
      expect(text(theirs)).toBe(text(none));
      expect(text(none)).toMatch(/not known \(or not visible to you\)/);
    });

    it('when the vårdcentral creates the SIP, then the municipality gets its own kallelse-sip and the vårdcentral’s duty is met', async () => {
      plan = ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(SKULTUNA)), 201) as CarePlan;
      expect(plan.category?.some((x) => x.coding?.[0]?.code === 'red')).toBe(true);
      const stored = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      expect(stored.status).toBe('draft');
      expect(stored.category?.some((x) => x.coding?.[0]?.code === 'red')).toBe(true);
      valid(stored, PROFILE.carePlan);
      plan = stored;
      const muni = await c['demo-vasteras']!.tasks({ focus: `CarePlan/${plan.id}` });
      expect(muni).toHaveLength(1);
      expect(muni[0]).toMatchObject({ status: 'requested', owner: { reference: VASTERAS } });
      expect(muni[0]?.description).toMatch(/Kallelse till SIP-möte den .* i bostaden, från Skultuna/);
      valid(muni[0]!);
      const vc = await c['demo-vc-skultuna']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'kallelse-sip' });
      expect(vc.find((t) => t.owner?.reference === SKULTUNA)?.status).toBe('completed');
      // The municipality reads the plan it is invited to; Sala (not invited) does not.
      ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`));
      expect((await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}`)).status).toBe(404);
      ok(await c['demo-vasteras']!.put(`/fhir/Task/${muni[0]!.id}`, { ...muni[0], status: 'received' }));
    });

    it('when a party writes another party’s part, then it is refused', async () => {
      const current = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      const meddling = { ...current, extension: [{ url: EXTENSION.meetingPlace, valueString: 'ward' }] };
      expect((await c['demo-vasteras']!.put(`/fhir/CarePlan/${plan.id}`, meddling)).status).toBe(403);
    });

    it('when every party signs and the hospital approves, then the plan is active, with a Provenance each', async () => {
      const sign = (who: string, description: string, contact: string) =>
        c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, {
          resourceType: 'Parameters',
          parameter: [
            { name: 'description', valueString: description },
            { name: 'contact', valueString: contact },
          ],
        });
      let p = ok(await sign('demo-vasteras', 'Hemtjänst tre besök per dag', 'Anna Berg, 021-10 20 30')) as CarePlan;
      expect(p.status).toBe('draft');
      p = ok(
        await sign('demo-vc-skultuna', 'Distriktssköterska följer upp såret', 'Omar Ali, 021-40 50 60'),
      ) as CarePlan;
      expect(p.status).toBe('draft');
      expect((await c['demo-vasteras']!.post(`/fhir/CarePlan/${plan.id}/$approve`)).status).toBe(403);
      p = ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan;
      expect(p.status).toBe('active');
      valid(p, PROFILE.carePlan);
      const prov = ok(await c['demo-ehr']!.get('/fhir/Provenance', { target: `CarePlan/${plan.id}` })) as Bundle;
      const list = (prov.entry ?? []).map((e) => e.resource as Provenance);
      expect(list.map((x) => x.agent[0]?.who?.reference).sort()).toEqual([SKULTUNA, VASTERAS, HOSPITAL].sort());
      for (const x of list) {
        valid(x);
        expect(x.target[0]?.reference).toMatch(new RegExp(`^CarePlan/${plan.id}/_history/\\d+$`));
      }
      plan = p;
    });

    it('when a party changes its part later, then its signature is withdrawn and the plan is draft again', async () => {
      const current = ok(await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      const activity = (current.activity ?? []).map((a) =>
        a.detail?.performer?.[0]?.reference === VASTERAS
          ? { ...a, detail: { ...a.detail, description: 'Hemtjänst fyra besök per dag' } }
          : a,
      );
      ok(await c['demo-vasteras']!.put(`/fhir/CarePlan/${plan.id}`, { ...current, activity }));
      const after = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      expect(after.status).toBe('draft');
      ok(await c['demo-vasteras']!.post(`/fhir/CarePlan/${plan.id}/$sign`));
      ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`));
      plan = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      expect(plan.status).toBe('active');
    });

    it('when the meeting is held, then the vårdcentral gets the follow-up due one month later and the plan prints', async () => {
      const held = {
        resourceType: 'Parameters',
        parameter: [{ name: 'date', valueDateTime: '2026-12-01T10:00:00+01:00' }],
      };
      expect((await c['demo-vasteras']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`, held)).status).toBe(403);
      ok(await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`, held));
      const vc = await c['demo-vc-skultuna']!.tasks({
        encounter: `Encounter/${encounter.id}`,
        code: 'sip-uppfoljning',
      });
      expect(vc).toHaveLength(1);
      expect(vc[0]?.restriction?.period?.end?.slice(0, 10)).toBe('2027-01-01');
      valid(vc[0]!);
      const [send] = await c['demo-vc-skultuna']!.tasks({ focus: `CarePlan/${plan.id}`, code: 'sip-skriftlig-plan' });
      expect(send?.restriction?.period?.end).toBe('2026-12-04T09:00:00.000Z');
      expect(send?.owner?.reference).toBe(SKULTUNA);
      valid(send!);
      const html = await c['demo-vasteras']!.get(`/fhir/CarePlan/${plan.id}/$print`);
      expect(html.status).toBe(200);
      expect(html.type).toBe('text/html');
      // other parties' free text on a page: no script may run or anything load, whatever slipped past escaping
      expect(html.headers['content-security-policy']).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
      expect(html.text).toContain('Hemtjänst fyra besök per dag');
      expect(html.text).toContain('Anna Berg, 021-10 20 30');
      expect(html.text).toMatch(/Din fasta vårdkontakt[\s\S]*Skultuna/);
      expect(html.text).not.toContain('Organization/');
      expect((await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}/$print`)).status).toBe(404);
    });

    it('when a party opens the case overview, then it sees every party’s obligations and the SIP’s signatures; others get 404', async () => {
      const o = ok(
        await c['demo-vasteras']!.get(`/fhir/Encounter/${encounter.id}/$overview`),
      ) as unknown as CaseOverview;
      const muni = o.parties.find((p) => p.organization === VASTERAS);
      const vc = o.parties.find((p) => p.organization === SKULTUNA);
      expect(muni?.name).toBe('Västerås stad');
      expect(muni?.tasks.find((t) => t.code === 'kallelse-sip')).toMatchObject({ status: 'received' });
      expect(muni?.tasks.find((t) => t.code === 'kallelse-sip')?.acknowledgedAt).toBeDefined();
      expect(vc?.tasks.find((t) => t.code === 'sip-uppfoljning')?.deadline?.slice(0, 10)).toBe('2027-01-01');
      // The hospital's notices are one per receiver: each row names the party it goes to.
      const notices = o.parties
        .find((p) => p.organization === HOSPITAL)
        ?.tasks.filter((t) => t.code === 'inskrivningsmeddelande');
      expect(notices?.map((t) => t.counterpart).sort()).toEqual(['Skultuna vårdcentral', 'Västerås stad']);
      // The hospital's duty is done when it sent the notice (executionPeriod.end), not "acknowledged" by anyone.
      for (const n of notices ?? []) {
        expect(n).toMatchObject({ status: 'completed', doneAt: expect.any(String) as string });
        expect(n.acknowledgedAt).toBeUndefined();
      }
      expect(muni?.tasks.find((t) => t.code === 'inskrivningsmeddelande')?.counterpart).toBe(
        'Västmanlands sjukhus Västerås',
      );
      expect(o.sip).toMatchObject({ status: 'active', author: expect.stringContaining('Skultuna') as string });
      expect(o.sip?.signatures.every((s) => s.signedAt !== undefined)).toBe(true);
      expect(o.sip?.approvedAt).toBeDefined();
      // the meeting as called and when it was held; the stay by the hospital's own number
      expect(o.sip?.meeting).toEqual({
        at: '2026-12-01T10:00:00+01:00',
        place: 'home',
        heldAt: '2026-12-01T09:00:00.000Z',
      });
      expect(o.encounter.visitNumber).toBe(encounter.identifier?.[0]?.value);
      expect(JSON.stringify(o)).not.toContain('Tolvansson');
      expect((await c['demo-sala']!.get(`/fhir/Encounter/${encounter.id}/$overview`)).status).toBe(404);
      const page = await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${encounter.id}/$overview`).then((r) => r);
      expect(page.status).toBe(200);
      const html = await request(shell.gateway.app)
        .get(`/fhir/Encounter/${encounter.id}/$overview`)
        .set('Accept', 'text/html')
        .auth(c['demo-vc-skultuna']!.token, { type: 'bearer' });
      expect(html.type).toBe('text/html');
      expect(html.headers['content-security-policy']).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
      expect(html.text).toContain('Ärendeöversikt');
      expect(html.text).toContain('Västerås stad');
      expect(html.text).toContain('<th>Motpart</th>');
      // Every time is Swedish time with its offset (the console's formatter), not a bare wall-clock time.
      expect(html.text).toContain('inskriven 2026-11-28 08:00:00 +01:00');
      expect(html.text).toContain(`Vårdtillfälle ${encounter.identifier?.[0]?.value ?? 'none'} <small>`);
      expect(html.text).toContain(
        'Mötet är kallat till 2026-12-01 10:00:00 +01:00 i bostaden. Mötet hölls 2026-12-01 10:00:00 +01:00.',
      );
      expect(html.text).toContain('<td>2026-12-04 10:00:00 +01:00</td>');
      expect(html.text).not.toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?!:\d{2} [+-]\d{2}:\d{2})/);
    });

    it('when the patient goes home, then each receiver closes its case', async () => {
      const out = withExtensions(encounter, [], {
        status: 'finished',
        period: { start: '2026-11-28T08:00:00+01:00', end: '2026-12-01T12:00:00+01:00' },
      });
      const cur = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${encounter.id}`)) as Encounter;
      ok(await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, { ...out, meta: cur.meta }));
      for (const who of ['demo-vasteras', 'demo-vc-skultuna']) {
        const close = (await c[who]!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'avsluta-arende' }))[0];
        expect(close, who).toBeDefined();
        // The owner acknowledges, accepts, then closes it (requested → received → accepted → completed).
        let done = close!;
        for (const status of ['received', 'accepted', 'completed'] as const)
          done = ok(await c[who]!.put(`/fhir/Task/${close!.id}`, { ...done, status })) as Task;
        expect(done.status).toBe('completed');
      }
    });

    it('when the named care contact invites one more party and withdraws it, then that party’s invitation comes and is cancelled', async () => {
      const cur = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      const more = { ...cur, contributor: [...(cur.contributor ?? []), { reference: SALA }] };
      const widened = ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, more)) as CarePlan;
      const [invite] = await c['demo-sala']!.tasks({ focus: `CarePlan/${plan.id}` });
      expect(invite).toMatchObject({ status: 'requested', owner: { reference: SALA } });
      expect((ok(await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan).status).toBe('draft');
      const now = ok(await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      ok(await c['demo-vc-skultuna']!.put(`/fhir/CarePlan/${plan.id}`, { ...now, contributor: cur.contributor }));
      expect(widened.contributor).toHaveLength(3);
      expect((await c['demo-sala']!.get(`/fhir/Task/${invite!.id}`)).body).toMatchObject({ status: 'cancelled' });
    });

    function sipDraft(author: string): CarePlan {
      return {
        resourceType: 'CarePlan',
        meta: { profile: [PROFILE.carePlan] },
        status: 'draft',
        intent: 'plan',
        category: [
          { coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-careplan-category', code: 'sip' }] },
        ],
        title: 'Samordnad individuell plan (SIP)',
        subject: encounter.subject!,
        encounter: { reference: `Encounter/${encounter.id}` },
        author: { reference: author },
        contributor: [{ reference: author }, { reference: VASTERAS }],
        extension: [
          { url: EXTENSION.meetingTime, valueDateTime: '2026-12-01T10:00:00+01:00' },
          { url: EXTENSION.meetingPlace, valueString: 'home' },
        ],
      };
    }
  },
);

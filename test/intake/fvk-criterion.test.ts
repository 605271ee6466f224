import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { CODE_SYSTEM, EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { uniquePrefix } from '../support/redis';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';
import type { CaseOverview } from '../../src/case-overview/case-overview';
import { admission, needsCD, ok, partyClient, withExtensions, type PartyClient } from '../sip/party-client';

/**
 * Readiness criterion 3 (seed 001 §3) is the outpatient unit's act: when the vårdcentral names the named care
 * contact on its `utse-fast-vardkontakt` Task, the gateway counts the criterion as met, so a ready notice that
 * Västmanland's gate held back for it goes out then, without the hospital reporting it again.
 */
describe.each(testDatabases())('the named care contact meets readiness criterion 3 on %s', (kind) => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};
  let encounter: Encounter;

  const readyNotices = async (): Promise<Task[]> =>
    c['demo-vasteras']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'utskrivningsklar' });

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
    const bundle = admission('fvk-criterion-1', '194001011230', '2026-11-28T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
  });
  afterAll(async () => {
    await shell?.close();
  });

  it('when the hospital reports ready with every criterion but the named care contact, then the notice is held back', async () => {
    const criteria = ['skriftlig-information', 'informationsoverforing', 'hjalpmedel', 'lakemedelslista'];
    const ready = [
      ...stayExtensions({ readyAt: '2026-11-30T09:00:00+01:00' }),
      ...criteria.map((c) => ({ url: EXTENSION.readinessCriteria, valueCode: c })),
    ];
    const r = await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, ready));
    encounter = ok(r) as Encounter;
    // the answer says what holds it back (ADR 024: nothing parked in silence)
    expect(String(r.headers.warning)).toContain('fact-rejected');
    expect(await readyNotices()).toEqual([]);
    // the case overview says so too, with what it waits for, to every party of the stay
    const o = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${encounter.id}/$overview`)) as unknown as CaseOverview;
    expect(o.readiness.readyAt).toBeUndefined();
    expect(o.readiness.heldBackSince).toBe('2026-11-30T08:00:00.000Z');
    expect(o.readiness.missing.map((x) => x.code)).toEqual(['fast-vardkontakt']);
    expect(o.readiness.met.map((x) => x.code)).toEqual(expect.arrayContaining(criteria));
    const page = await request(shell.gateway.app)
      .get(`/fhir/Encounter/${encounter.id}/$overview`)
      .set('Accept', 'text/html')
      .auth(c['demo-vasteras']!.token, { type: 'bearer' });
    expect(page.text).toContain('hålls inne enligt överenskommelsen');
    expect(page.text).toContain(
      'Saknas: Fast vårdkontakt är utsedd i den landstingsfinansierade öppna vården (fast-vardkontakt)',
    );
    expect(page.text).toContain('öppenvårdsenheten anger den i sitt ärende');
  });

  it('when the vårdcentral names the named care contact, then the held-back ready notice reaches the municipality', async () => {
    const [duty] = await c['demo-vc-skultuna']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'utse-fast-vardkontakt',
    });
    expect(duty?.status).toBe('requested');
    // acknowledging the Task is not appointing anyone
    const received = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, { ...duty, status: 'received' }),
    ) as Task;
    expect(await readyNotices()).toEqual([]);
    const who = {
      type: { coding: [{ system: CODE_SYSTEM.taskOutput, code: 'fast-vardkontakt' }] },
      valueString: 'Anna Berg, distriktssköterska, 021-10 20 30',
    };
    const named = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, { ...received, status: 'accepted', output: [who] }),
    ) as Task;
    const notices = await readyNotices();
    expect(notices.map((t) => t.status)).toEqual(['requested']);
    // completing the Task afterwards adds nothing: still the one notice
    ok(await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, { ...named, status: 'completed' }));
    expect((await readyNotices()).map((t) => t.id)).toEqual(notices.map((t) => t.id));
    const o = ok(
      await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${encounter.id}/$overview`),
    ) as unknown as CaseOverview;
    expect(o.readiness.heldBackSince).toBeUndefined();
    expect(o.readiness.readyAt).toBeDefined();
    expect(o.readiness.missing).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Encounter, Provenance } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  needsCD,
  ok,
  partyClient,
  SKULTUNA,
  VASTERAS,
  sipDraft,
  withExtensions,
  type PartyClient,
} from './party-client';

const HSL = 'Organization/hemsjukvard-1980';
const HOME = { url: EXTENSION.homeHealthCare, valueBoolean: true };
const PARTIES = { 'demo-vasteras-hsl': HSL, 'demo-vc-skultuna': SKULTUNA, 'demo-vasteras': VASTERAS } as const;

/**
 * The parties of a SIP write and sign their parts at the same moment (Gävleborg: the municipality's home health
 * care unit creates the plan and invites the vårdcentral and social services). Each `$sign` reads the plan, adds the
 * party's part and writes it: without a lock on the plan, two at once each wrote the version both had read, and
 * one party's part was lost while both were told it was signed.
 */
describe.each(testDatabases())('SIP parties signing at the same moment on %s', (kind) => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'gavleborg' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', ...Object.keys(PARTIES)]) c[id] = await partyClient(shell.gateway.app, id);
  });
  afterAll(async () => shell.close());

  async function openPlan(n: number): Promise<CarePlan> {
    const pnr = ['191212121212', '194107086995', '195705232386'][n] ?? '191212121212';
    const r = ok(
      await c['demo-ehr']!.post(
        '/fhir',
        admission(`race-${n}`, pnr, '2026-11-28T08:00:00+01:00', [...needsCD(), HOME]),
      ),
    ) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    let encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    encounter = ok(
      await c['demo-ehr']!.put(
        `/fhir/Encounter/${id}`,
        withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' })),
      ),
    ) as Encounter;
    const draft = sipDraft(encounter, HSL, [SKULTUNA, VASTERAS]);
    return ok(await c['demo-vasteras-hsl']!.post('/fhir/CarePlan', draft), 201) as CarePlan;
  }

  it('when every party signs its part at once, then the plan keeps every part and a signature for each', async () => {
    for (let n = 0; n < 3; n++) {
      const plan = await openPlan(n);
      const answers = await Promise.all(
        Object.keys(PARTIES).map((who) =>
          c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, {
            resourceType: 'Parameters',
            parameter: [
              { name: 'description', valueString: `Insatser från ${who}` },
              { name: 'contact', valueString: 'Kontakt, 021-10 20 30' },
            ],
          }),
        ),
      );
      for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
      const stored = ok(await c['demo-vasteras-hsl']!.get(`/fhir/CarePlan/${plan.id}`)) as CarePlan;
      const parts = (stored.activity ?? []).map((a) => a.detail?.performer?.[0]?.reference).sort();
      expect(parts).toEqual(Object.values(PARTIES).sort());
      for (const [who, org] of Object.entries(PARTIES)) {
        const part = stored.activity?.find((a) => a.detail?.performer?.[0]?.reference === org);
        expect(part?.detail?.description).toBe(`Insatser från ${who}`);
      }
      const prov = ok(await c['demo-ehr']!.get('/fhir/Provenance', { target: `CarePlan/${plan.id}` })) as Bundle;
      const signers = (prov.entry ?? []).map((e) => (e.resource as Provenance).agent[0]?.who?.reference).sort();
      expect(signers).toEqual(Object.values(PARTIES).sort());
      // every party has signed its part as it stands: the hospital's approval makes the plan active
      expect((ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan).status).toBe('active');
    }
  });
});

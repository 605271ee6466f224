import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { CapabilityStatement, CarePlan } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { splitHl7Messages } from '../../src/intake/hl7v2/split-messages';
import { CODE_SYSTEM, EXTENSION, PROFILE } from '../../src/fhir/constants';
import { waitFor } from '../delivery/helpers';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import { codeOf, ok, partyClient, SKULTUNA, VASTERAS, type PartyClient } from './party-client';

/** Västmanland: the hospital side through HL7 v2 (A01 + A08 of the README's feed), the parties through FHIR. */
describe('a Västmanland stay sent over HL7, planned together over FHIR', () => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};

  beforeAll(async () => {
    shell = await openShell({
      kind: 'pglite',
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' },
    });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
  });
  afterAll(async () => shell.close());

  it('when the EHR sends admission and ready over HL7, then the vårdcentral invites, all sign, the hospital approves', async () => {
    const feed = splitHl7Messages(readFileSync('test/fixtures/hl7/vasteras-stay.hl7', 'utf8')).slice(0, 2);
    for (const msg of feed) {
      const r = await request(shell.gateway.app)
        .post('/hl7v2')
        .set('Content-Type', 'x-application/hl7-v2+er7')
        .auth(c['demo-ehr']!.token, { type: 'bearer' })
        .send(msg);
      expect(r.text).toContain('MSA|AA');
    }
    let stay = '';
    await waitFor(
      async () => {
        const t = (await c['demo-vc-skultuna']!.tasks()).find((x) => codeOf(x) === 'kallelse-sip');
        stay = t?.encounter?.reference?.slice('Encounter/'.length) ?? '';
        return stay !== '';
      },
      10_000,
      'the invitation duty',
    );
    const subject = (
      ok(await c['demo-vc-skultuna']!.get(`/fhir/Encounter/${stay}`)) as { subject: { reference: string } }
    ).subject;
    const draft: CarePlan = {
      resourceType: 'CarePlan',
      meta: { profile: [PROFILE.carePlan] },
      status: 'draft',
      intent: 'plan',
      category: [{ coding: [{ system: CODE_SYSTEM.carePlanCategory, code: 'sip' }] }],
      subject,
      encounter: { reference: `Encounter/${stay}` },
      author: { reference: SKULTUNA },
      contributor: [{ reference: VASTERAS }],
      extension: [{ url: EXTENSION.meetingPlace, valueString: 'ward' }],
    };
    const plan = ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', draft), 201) as CarePlan;
    const sign = (who: string) =>
      c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'description', valueString: `Insatser från ${who}` },
          { name: 'contact', valueString: 'Kontakt 021-00 00 00' },
        ],
      });
    ok(await sign('demo-vasteras'));
    ok(await sign('demo-vc-skultuna'));
    const approved = ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan;
    expect(approved.status).toBe('active');
    const vc = await c['demo-vc-skultuna']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' });
    // Its own duty is met; the invitation it sent (owned by Västerås, requested by it) is visible to it as well.
    expect(vc.filter((t) => t.owner?.reference === SKULTUNA).map((t) => t.status)).toEqual(['completed']);
    expect(vc.find((t) => t.owner?.reference === VASTERAS)?.requester?.reference).toBe(SKULTUNA);
  });

  it('when a client reads the metadata, then the SIP operations and the case overview are listed', async () => {
    const r = await request(shell.gateway.app).get('/fhir/metadata');
    const rest = (r.body as CapabilityStatement).rest?.[0]?.resource ?? [];
    expect(rest.find((x) => x.type === 'CarePlan')?.operation?.map((o) => o.name)).toEqual([
      'sign',
      'approve',
      'meeting-held',
      'take-over',
      'print',
    ]);
    expect(rest.find((x) => x.type === 'Encounter')?.operation?.map((o) => o.name)).toEqual(['overview']);
    expect(rest.map((x) => x.type)).toEqual(expect.arrayContaining(['Communication', 'Provenance']));
  });
});

import { describe, expect, it } from 'vitest';
import type { CarePlan } from '@medplum/fhirtypes';
import { testDatabases } from '../support/db';
import { rerouting } from './rerouting';
import { ok, SALA, sipDraft, SKULTUNA, VASTERAS } from './party-client';

/**
 * Västmanland over HL7 v2: Skultuna vårdcentral (the named care contact) invites Västerås stad and Sala kommun to
 * the SIP. Västerås stad acknowledges its invitation first and signs later; Sala kommun signs without ever
 * acknowledging. A party that signed its part has the invitation in hand: its invitation is acknowledged by the
 * signature, so the "acknowledge without delay" deadline cannot escalate against a party that already signed.
 */
const params = (p: Record<string, string>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(p).map(([name, valueString]) => ({ name, valueString })),
});

describe.each(testDatabases())('signing the SIP acknowledges the invitation, on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna', 'demo-vasteras', 'demo-sala']);
  const { c, at } = gw;

  it('when a party signs without acknowledging its invitation, then the invitation is acknowledged by the signature, on time or late as it was; one acknowledged before keeps its own', async () => {
    const encounter = await gw.firstStay();
    await at('2026-01-17T12:00:00Z');
    const plan = ok(
      await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS, SALA])),
      201,
    ) as CarePlan;
    const invitation = async (who: string) =>
      (await c[who]!.tasks({ focus: `CarePlan/${plan.id}`, code: 'kallelse-sip' }))[0]!;
    const sign = (who: string, description: string, contact: string) =>
      c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, params({ description, contact }));

    // Västerås stad acknowledges first (the usual way), then signs: its own acknowledgement stands.
    const vasteras = await invitation('demo-vasteras');
    ok(await c['demo-vasteras']!.put(`/fhir/Task/${vasteras.id}`, { ...vasteras, status: 'received' }));
    await at('2026-01-17T13:00:00Z');
    ok(await sign('demo-vasteras', 'Hemtjänst morgon och kväll', 'Biståndshandläggare, 021-39 00 00'));
    const acked = await invitation('demo-vasteras');
    expect(acked.status).toBe('received');
    expect(acked.executionPeriod?.end).toBe('2026-01-17T12:00:00.000Z');
    expect(acked.statusReason).toBeUndefined();

    // Sala kommun never acknowledges and signs after its deadline (the next working day): acknowledged late.
    const sala = await invitation('demo-sala');
    expect(sala.status).toBe('requested');
    const due = sala.restriction?.period?.end ?? '';
    expect(Date.parse(due)).toBeGreaterThan(Date.parse('2026-01-17T12:00:00Z'));
    const late = new Date(Date.parse(due) + 3_600_000).toISOString();
    await at(late);
    ok(await sign('demo-sala', 'Korttidsplats i väntan på bostad', 'Biståndshandläggare, 0224-74 70 00'));
    const signed = await invitation('demo-sala');
    expect(signed.status).toBe('accepted');
    expect(signed.executionPeriod?.end).toBe(late);
    expect(signed.businessStatus?.coding?.[0]?.code).toBe('overdue');
    expect(signed.statusReason?.text).toBe('Kvitterad när Sala kommun signerade sin del av SIP:en');
    // signing again (a changed part) changes nothing more on the invitation
    await at(new Date(Date.parse(late) + 60_000).toISOString());
    ok(await sign('demo-sala', 'Korttidsplats, sedan hemtjänst', 'Biståndshandläggare, 0224-74 70 00'));
    expect((await invitation('demo-sala')).meta?.versionId).toBe(signed.meta?.versionId);
  });
});

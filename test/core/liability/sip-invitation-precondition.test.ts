import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import { storedStay } from '../../../src/core/liability/from-facts';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from '../engine/stay-builder';

/**
 * The liability precondition "where a SIP is to be held, the named care contact has called to it" (003 "Ekonomisk
 * reglering", from SFS 2017:612) reads the same invitation facts as the engine's invitation duty: an invitation counts
 * when the unit that sent it was the named care contact then.
 */
let A: Agreement;
beforeAll(async () => {
  A = getAgreement(await loadAgreements(), 'vastmanland');
});
const VC2 = 'SE2321000222-VC2';
const base = [
  b.admitted('2026-05-04T10:00:00+02:00'),
  b.needs('2026-05-04T10:00:00+02:00', ['socialtjanst', 'kommunal-hsl', 'oppenvard'], { sipNeeded: true }),
  b.estimate('2026-05-04T10:00:00+02:00', '2026-05-12'),
  b.criteria('2026-05-04T10:00:00+02:00', b.ALL_CRITERIA),
  b.ready('2026-05-04T12:00:00+02:00'),
];
const moved = b.fact('2026-05-05T09:00:00+02:00', { kind: 'patient-updated', patient: { primaryCareUnit: VC2 } });
const out = b.discharged('2026-05-12T10:00:00+02:00');
const invitationSent = (facts: StayFact[]): boolean | undefined => {
  const s = storedStay(facts, A);
  return 'stay' in s ? s.stay.sipInvitationSent : undefined;
};

describe('the SIP invitation as a precondition of payment liability', () => {
  it('when the named care contact invited and the stay was then re-routed to another vårdcentral, then the invitation still counts', () => {
    // The seeds tie the precondition to the call by "den fasta vårdkontakten": the unit that was the FVK called, the
    // invited parties' duty to take part arose then, and the plan goes on under the new FVK (ADR 045). The new
    // unit's own open duty is a deviation of the region's side, not a condition of the municipality's liability.
    const invited = b.fact('2026-05-04T15:00:00+02:00', { kind: 'sip-invitation-sent', by: `primary-care:${b.VC}` });
    expect(invitationSent([...base, invited, moved, out])).toBe(true);
    const e = evaluateStay([...base, invited, moved, out], A);
    expect(e.tasks.find((t) => t.key === `kallelse-sip@primary-care:${VC2}`)?.status).not.toBe('completed');
  });

  it('when no named care contact invited, then the precondition fails, re-routed or not', () => {
    expect(invitationSent([...base, out])).toBe(false);
    expect(invitationSent([...base, moved, out])).toBe(false);
  });

  it('when an invitation cannot be counted for any named care contact, then it does not meet the precondition and is reported as not applied', () => {
    const noUnit = base.map((f) => (f.kind === 'admitted' ? { ...f, patient: { municipality: b.WESTERAS } } : f));
    const orphan = b.fact('2026-05-04T15:00:00+02:00', { kind: 'sip-invitation-sent' }, 'orphan');
    expect(invitationSent([...noUnit, orphan, out])).toBe(false);
    expect(evaluateStay([...noUnit, orphan, out], A).rejected.map((r) => r.factId)).toContain('orphan');
  });

  it('when the invitation fact names the unit that sent it, then it appears in the stay’s trace', () => {
    const invited = b.fact('2026-05-04T15:00:00+02:00', { kind: 'sip-invitation-sent', by: `primary-care:${b.VC}` });
    const s = storedStay([...base, invited, out], A);
    expect(s.facts.map((f) => f.kind)).toContain('sip-invitation-sent');
  });
});

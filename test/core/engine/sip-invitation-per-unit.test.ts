import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/**
 * A SIP invitation meets the invitation duty (kallelse-sip) of the unit that was the named care contact when it was
 * sent, not of a unit the stay is re-routed to later: that unit must invite too, within its own three days of the
 * ready notice reaching it (Västmanland 001 §5.2.2: the end of the third day after the notice was received).
 */
let A: Agreement;
beforeAll(async () => {
  A = getAgreement(await loadAgreements(), 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const READY = '2026-05-04T12:00:00+02:00';
const INVITED = '2026-05-04T15:00:00+02:00';
const MOVED = '2026-05-05T09:00:00+02:00';
const VC2 = 'SE2321000222-VC2';
const OLD = `kallelse-sip@primary-care:${b.VC}`;
const NEW = `kallelse-sip@primary-care:${VC2}`;
const base = [
  b.admitted(ADM),
  b.needs(ADM, ['socialtjanst', 'kommunal-hsl', 'oppenvard']),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(ADM, b.ALL_CRITERIA),
  b.ready(READY),
];
const moved = b.fact(MOVED, { kind: 'patient-updated', patient: { primaryCareUnit: VC2 } });
const task = (e: StayEvaluation, key: string): TaskSpec | undefined => e.tasks.find((t) => t.key === key);

describe('the SIP invitation counts for the unit that sent it', () => {
  it('when the stay is re-routed to another vårdcentral after the first one invited, then the new one has an open invitation duty due three days after the re-routing, and the old one stays completed without a makulering', () => {
    const e = evaluateStay([...base, b.fact(INVITED, { kind: 'sip-invitation-sent' }), moved], A);
    expect(task(e, NEW)).toMatchObject({
      status: 'requested',
      owner: { kind: 'primary-care', hsaId: VC2 },
      authoredOn: '2026-05-05T07:00:00.000Z',
      // The end of the third day after 2026-05-05 (Stockholm), not after the ready notice of 2026-05-04.
      due: '2026-05-08T21:59:59.999Z',
    });
    expect(task(e, OLD)).toMatchObject({ status: 'completed', due: '2026-05-07T21:59:59.999Z' });
    expect(task(e, `makulering:${OLD}`)).toBeUndefined();
    expect(e.state.fvk).toEqual({ kind: 'primary-care', hsaId: VC2 });
    expect(e.state.sipInvitedAt).toBe('2026-05-04T13:00:00.000Z');
  });

  it('when the new vårdcentral then invites, then its own duty is completed as well', () => {
    const e = evaluateStay(
      [
        ...base,
        b.fact(INVITED, { kind: 'sip-invitation-sent' }),
        moved,
        b.fact('2026-05-06T09:00:00+02:00', { kind: 'sip-invitation-sent' }, 'inv-2'),
      ],
      A,
    );
    expect([task(e, OLD)?.status, task(e, NEW)?.status]).toEqual(['completed', 'completed']);
  });

  it('when an invitation comes after the re-routing, then it is the new unit’s, and the old one’s open duty is withdrawn with a makulering', () => {
    const e = evaluateStay([...base, moved, b.fact('2026-05-06T09:00:00+02:00', { kind: 'sip-invitation-sent' })], A);
    expect(task(e, NEW)?.status).toBe('completed');
    expect(task(e, OLD)?.status).toBe('cancelled');
    expect(task(e, `makulering:${OLD}`)?.status).toBe('requested');
  });

  it('when the invitation names the unit that sent it, then it counts for that unit even if the re-routing is dated before it', () => {
    // The gateway records the sender (the named care contact it knew when the SIP was created); an A08 dated
    // earlier but received later does not move the invitation to the new unit.
    const late = b.fact('2026-05-05T10:00:00+02:00', { kind: 'sip-invitation-sent', by: `primary-care:${b.VC}` });
    const e = evaluateStay([...base, moved, late], A);
    expect(task(e, OLD)?.status).toBe('completed');
    expect(task(e, `makulering:${OLD}`)).toBeUndefined();
    expect(task(e, NEW)?.status).toBe('requested');
  });

  it('when the vårdcentral is notified before the ready notice, then its invitation deadline runs from the ready notice as before', () => {
    const e = evaluateStay(base, A);
    expect(task(e, OLD)).toMatchObject({ status: 'requested', due: '2026-05-07T21:59:59.999Z' });
  });
});

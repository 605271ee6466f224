import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import * as b from './stay-builder';

let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});

const ADM = '2026-05-04T10:00:00+02:00';
const READY = '2026-05-06T10:00:00+02:00';
const INVITED = '2026-05-07T09:00:00+02:00';

describe('the SIP invitation fact', () => {
  it('when the named care contact sends the SIP invitation, then its kallelse-sip duty is completed and the state records when', () => {
    const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl']), b.ready(READY)];
    const before = evaluateStay(base, getAgreement(A, 'jonkoping'));
    expect(before.tasks.find((t) => t.code === 'kallelse-sip')?.status).toBe('requested');
    const after = evaluateStay(
      [...base, b.fact(INVITED, { kind: 'sip-invitation-sent' })],
      getAgreement(A, 'jonkoping'),
    );
    const sip = after.tasks.find((t) => t.code === 'kallelse-sip');
    expect(sip).toMatchObject({ status: 'completed', due: before.tasks.find((t) => t.code === 'kallelse-sip')?.due });
    expect(after.state.sipInvitedAt).toBe('2026-05-07T07:00:00.000Z');
  });

  it('when the invitation fact arrives before the ready notice, then the invitation duty is still met once it arises', () => {
    const facts = [
      b.admitted(ADM),
      b.needs(ADM, ['socialtjanst', 'kommunal-hsl']),
      b.fact('2026-05-05T09:00:00+02:00', { kind: 'sip-invitation-sent' }),
      b.ready(READY),
    ];
    const e = evaluateStay(facts, getAgreement(A, 'gavleborg'));
    const sip = e.tasks.filter((t) => t.code === 'kallelse-sip');
    expect(sip.length).toBe(1);
    expect(sip[0]?.status).toBe('completed');
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { informationTransferUnit, metLate } from '../../../src/core/engine/duties';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/** Issue 13 §2–3, contract "Obligations": the hospital's duties are its own Tasks, met at its send time. */
let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ev = (facts: StayFact[], id = 'vastmanland'): StayEvaluation => evaluateStay(facts, getAgreement(A, id));
const sentAt = (f: StayFact, at: string): StayFact => ({ ...f, sentAt: at });
const byKey = (e: StayEvaluation, key: string): TaskSpec => {
  const t = e.tasks.find((x) => x.key === key);
  if (!t) throw new Error(`no task ${key} in ${e.tasks.map((x) => x.key).join(', ')}`);
  return t;
};
const MUNI = 'municipality:1980';
const ADM = '2026-05-04T10:00:00+02:00';

describe('the hospital owns its duties', () => {
  it('when the A01 is sent an hour after admission, then the hospital duty is owned by the hospital, requested by the receiver and met on time', () => {
    const sent = '2026-05-04T11:00:00+02:00';
    const e = ev([sentAt(b.admitted(ADM), sent), sentAt(b.needs(ADM, ['socialtjanst']), sent)]);
    const receiver = byKey(e, `inskrivningsmeddelande@${MUNI}`);
    const duty = byKey(e, `ansvar:inskrivningsmeddelande@${MUNI}`);
    expect(receiver).toMatchObject({ owner: { kind: 'municipality', code: '1980' }, status: 'requested' });
    expect(receiver.dutyKey).toBe(duty.key);
    expect(duty).toMatchObject({
      code: 'inskrivningsmeddelande',
      owner: { kind: 'hospital', hsaId: b.HOSPITAL },
      requester: { kind: 'municipality', code: '1980' },
      status: 'completed',
      metAt: '2026-05-04T09:00:00.000Z',
      due: '2026-05-05T08:00:00.000Z',
    });
    expect(metLate(duty)).toBe(false);
  });

  it('when the A01 is sent three days after the admission, then the hospital duty is met late', () => {
    const sent = '2026-05-07T10:00:00+02:00';
    const e = ev([sentAt(b.admitted(ADM), sent), sentAt(b.needs(ADM, ['socialtjanst']), sent)]);
    expect(metLate(byKey(e, `ansvar:inskrivningsmeddelande@${MUNI}`))).toBe(true);
  });

  it('when a need is found later (assessment time) and reported three days after it, then the 24 h count from the assessment and the duty is late', () => {
    const assessed = '2026-05-05T09:00:00+02:00';
    const e = ev([b.admitted(ADM), sentAt(b.needs(assessed, ['socialtjanst']), '2026-05-08T09:00:00+02:00')]);
    const duty = byKey(e, `ansvar:inskrivningsmeddelande@${MUNI}`);
    expect(duty.due).toBe('2026-05-06T07:00:00.000Z');
    expect(metLate(duty)).toBe(true);
  });

  it('when the discharge is sent, then the hospital duty to send the discharge notice is met; information transfer stays open until reported', () => {
    const d = b.discharged('2026-05-10T14:00:00+02:00');
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst']), d], 'lag');
    expect(byKey(e, `ansvar:utskrivningsmeddelande@${MUNI}#${d.id}`).status).toBe('completed');
    expect(byKey(e, `ansvar:informationsoverforing@${MUNI}`).status).toBe('requested');
    const reported = ev(
      [b.admitted(ADM), b.needs(ADM, ['socialtjanst']), b.criteria(ADM, ['information-transferred']), d],
      'lag',
    );
    expect(byKey(reported, `ansvar:informationsoverforing@${MUNI}`).status).toBe('completed');
  });
});

describe('the unit an information transfer duty is towards', () => {
  it('when the key is an information transfer duty, then its unit is the party key in it, without the round', () => {
    expect(informationTransferUnit('ansvar:informationsoverforing@municipality:1981')).toBe('municipality:1981');
    expect(informationTransferUnit('ansvar:informationsoverforing@primary-care:SE1#hl7:EHR:42#patient')).toBe(
      'primary-care:SE1',
    );
  });

  it('when the key is any other Task, then it names no unit', () => {
    expect(informationTransferUnit('informationsoverforing@municipality:1981')).toBeUndefined();
    expect(informationTransferUnit('ansvar:inskrivningsmeddelande@municipality:1981')).toBeUndefined();
    expect(informationTransferUnit('ansvar:informationsoverforing@')).toBeUndefined();
  });
});

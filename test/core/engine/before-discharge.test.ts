import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, SvuTaskCode, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/**
 * Duties "before discharge" (FVK, law 2 kap. 5 §; the LPT 7 a § plan, 001 §5.2.3): the estimated discharge stands in
 * for the discharge only while the patient is here. Once the discharge is known the deadline is the discharge (or
 * the earlier estimate), never after it.
 */
let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ev = (facts: Parameters<typeof evaluateStay>[0], id = 'lag'): StayEvaluation =>
  evaluateStay(facts, getAgreement(A, id));
const only = (e: StayEvaluation, code: SvuTaskCode): TaskSpec => {
  const found = e.tasks.filter((t) => t.code === code);
  expect(found, code).toHaveLength(1);
  return found[0]!;
};
const ADM = '2026-05-04T10:00:00+02:00';
const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl']), b.estimate(ADM, '2026-05-08')];
const AGREEMENTS = ['lag', 'vastmanland', 'gavleborg', 'jonkoping', 'stockholm'];

describe('named care contact (FVK) once the patient has left (law 2 kap. 5 §)', () => {
  it.each(AGREEMENTS)(
    'when %s discharges the patient before the estimated discharge, then the FVK is due at the discharge, not the estimate',
    (agreement) => {
      const fvk = only(ev([...base, b.discharged('2026-05-06T11:00:00+02:00')], agreement), 'utse-fast-vardkontakt');
      expect(fvk).toMatchObject({ status: 'requested', due: '2026-05-06T09:00:00.000Z' });
      expect(fvk.deadlineRule?.rule).toBe('tasks.utse-fast-vardkontakt.deadline');
    },
  );

  it('when the patient stays past the estimate and then leaves, then the deadline stays at the earlier estimate', () => {
    const e = ev([...base, b.discharged('2026-05-09T11:00:00+02:00')]);
    expect(only(e, 'utse-fast-vardkontakt').due).toBe('2026-05-07T22:00:00.000Z');
  });

  it('when no estimate was ever given, then the discharge is the deadline (the duty does not go without one)', () => {
    const noEstimate = base.filter((f) => f.kind !== 'estimated-discharge-set');
    expect(only(ev(noEstimate), 'utse-fast-vardkontakt').due).toBeUndefined();
    const e = ev([...noEstimate, b.discharged('2026-05-06T11:00:00+02:00')]);
    expect(only(e, 'utse-fast-vardkontakt').due).toBe('2026-05-06T09:00:00.000Z');
  });

  it('when the discharge is cancelled (A13), then the estimate is the deadline again', () => {
    const d = b.discharged('2026-05-06T11:00:00+02:00');
    const c = b.fact('2026-05-06T12:00:00+02:00', { kind: 'discharge-cancelled' });
    expect(only(ev([...base, d, c]), 'utse-fast-vardkontakt').due).toBe('2026-05-07T22:00:00.000Z');
  });
});

describe('coordinated plan before discharge to compulsory outpatient care (LPT 7 a §, 001 §5.2.3)', () => {
  it('when the patient is discharged to compulsory outpatient care before the estimate, then the plan is due at the discharge', () => {
    const psy = [
      b.admitted(ADM, {}, 'psychiatric'),
      b.needs(ADM, ['oppenvard'], { sipNeeded: false }),
      b.estimate(ADM, '2026-05-20'),
      b.fact('2026-05-10T10:00:00+02:00', { kind: 'compulsory-outpatient-care', planned: true }),
    ];
    const e = ev([...psy, b.discharged('2026-05-12T11:00:00+02:00', true)], 'vastmanland');
    expect(only(e, 'kallelse-sip')).toMatchObject({
      due: '2026-05-12T09:00:00.000Z',
      deadlineRule: { rule: 'compulsoryOutpatientCare.planDeadline' },
    });
  });
});

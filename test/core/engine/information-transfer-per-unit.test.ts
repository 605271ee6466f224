import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import type { ReadinessCriterion, StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * The information transfer is made to each unit (seed 001 §3 criterion 4, "informationsöverföring har skett till de
 * enheter som har fått ett inskrivningsmeddelande"). A FHIR hospital reports it by completing its duty towards one
 * unit: that report is for that unit alone (`to`), so another unit's duty stays open, and Västmanland's gate, which
 * is per stay, holds the ready notice back until every unit with the duty has had its transfer reported. The HL7
 * criterion, which names no unit, and a fact stored before units were recorded, still count for every unit.
 */
let vm: Agreement;
let lag: Agreement;
beforeAll(async () => {
  const all = await loadAgreements();
  vm = getAgreement(all, 'vastmanland');
  lag = getAgreement(all, 'lag');
});
const ADM = '2026-05-04T10:00:00+02:00';
const CRITERIA = '2026-05-04T11:00:00+02:00';
const READY = '2026-05-04T13:00:00+02:00';
const TO_MUNICIPALITY = '2026-05-04T14:00:00+02:00';
const TO_VC = '2026-05-04T15:00:00+02:00';
const MUNICIPALITY = `municipality:${b.WESTERAS}`;
const VC = `primary-care:${b.VC}`;

const others: ReadinessCriterion[] = b.ALL_CRITERIA.filter(
  (c) => c !== 'physician-assessed' && c !== 'information-transferred',
);
const stay = (...more: StayFact[]): StayFact[] => [
  b.admitted(ADM),
  b.needs(ADM, ['socialtjanst', 'kommunal-hsl']),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(CRITERIA, others),
  ...more,
];
/** The hospital completed its duty towards `unit` over FHIR. */
const transferTo = (at: string, unit: string): StayFact =>
  b.fact(at, { kind: 'readiness-criteria-met', criteria: ['information-transferred'], to: [unit] });

const task = (e: StayEvaluation, key: string): TaskSpec | undefined => e.tasks.find((t) => t.key === key);
const duty = (e: StayEvaluation, party: string): TaskSpec | undefined =>
  task(e, `ansvar:informationsoverforing@${party}`);
const readyNotices = (e: StayEvaluation): TaskSpec[] =>
  e.tasks.filter((t) => t.code === 'utskrivningsklar' && !t.key.startsWith('ansvar:'));

describe('the information transfer reported for one unit (Västmanland, gate per stay)', () => {
  it('when the hospital reports the transfer to the municipality only, then the vårdcentral’s duty stays open and the ready notice waits for it', () => {
    const e = evaluateStay(stay(b.ready(READY), transferTo(TO_MUNICIPALITY, MUNICIPALITY)), vm);
    expect(duty(e, MUNICIPALITY)).toMatchObject({ status: 'completed', metAt: '2026-05-04T12:00:00.000Z' });
    expect(duty(e, VC)?.status).toBe('requested');
    expect(duty(e, VC)?.metAt).toBeUndefined();
    expect(task(e, `informationsoverforing@${VC}`)?.metAt).toBeUndefined();
    expect(e.state.readyAt).toBeUndefined();
    expect(e.state.readyHeldBackAt).toBe('2026-05-04T11:00:00.000Z');
    expect(e.state.missingCriteria).toEqual(['information-transferred']);
    expect(e.state.criteriaMet).not.toContain('information-transferred');
    expect(readyNotices(e)).toEqual([]);
    expect(e.rejected.map((r) => r.reason).join(' ')).toContain('for some of the units only');
    expect(e.state.informationTransferredAt).toBeUndefined();
  });

  it('when the hospital reports the transfer to the municipality only, then the held-back notice names the vårdcentral left, for the directory’s name to replace', () => {
    const e = evaluateStay(stay(b.ready(READY), transferTo(TO_MUNICIPALITY, MUNICIPALITY)), vm);
    const [held, ...more] = e.rejected;
    expect(more).toEqual([]);
    expect(held?.reason).toContain(`report the transfer to unit ${b.VC}, by completing the duty towards it)`);
    expect(held?.named).toEqual([{ phrase: `unit ${b.VC}`, party: { kind: 'primary-care', hsaId: b.VC } }]);
  });

  it('when no unit has had its transfer reported yet, then the held-back notice names none', () => {
    const e = evaluateStay(stay(b.ready(READY)), vm);
    expect(e.rejected.map((r) => r.named)).toEqual([undefined]);
    expect(e.rejected[0]?.reason).not.toContain('report the transfer to');
  });

  it('when the hospital then reports the transfer to the vårdcentral, then the notice goes out to both at that report', () => {
    const e = evaluateStay(stay(b.ready(READY), transferTo(TO_MUNICIPALITY, MUNICIPALITY), transferTo(TO_VC, VC)), vm);
    expect(duty(e, VC)).toMatchObject({ status: 'completed', metAt: '2026-05-04T13:00:00.000Z' });
    expect(duty(e, MUNICIPALITY)?.metAt).toBe('2026-05-04T12:00:00.000Z');
    // the held-back notice goes out at the report of the last unit's transfer
    expect(e.state.readyAt).toBe('2026-05-04T13:00:00.000Z');
    expect(e.state.missingCriteria).toEqual([]);
    // criterion 4 is met at the report of the last unit's transfer, as the summary keeps it
    expect(e.state.informationTransferredAt).toBe('2026-05-04T13:00:00.000Z');
    expect(readyNotices(e).map((t) => t.owner)).toEqual(
      expect.arrayContaining([
        { kind: 'municipality', code: b.WESTERAS },
        { kind: 'primary-care', hsaId: b.VC },
      ]),
    );
    expect(e.rejected).toEqual([]);
  });

  it('when both units’ transfers are reported before the ready notice, then it goes out at once', () => {
    const e = evaluateStay(
      stay(transferTo(TO_MUNICIPALITY, MUNICIPALITY), transferTo(TO_MUNICIPALITY, VC), b.ready(TO_VC)),
      vm,
    );
    expect(e.state.readyAt).toBe('2026-05-04T13:00:00.000Z');
  });

  it('when the transfer of one unit is followed by the HL7 criterion (no unit), then that criterion counts for every unit and releases the notice', () => {
    const e = evaluateStay(
      stay(b.ready(READY), transferTo(TO_MUNICIPALITY, MUNICIPALITY), b.criteria(TO_VC, ['information-transferred'])),
      vm,
    );
    expect(duty(e, VC)?.metAt).toBe('2026-05-04T13:00:00.000Z');
    expect(duty(e, MUNICIPALITY)?.metAt).toBe('2026-05-04T12:00:00.000Z');
    expect(e.state.readyAt).toBe('2026-05-04T13:00:00.000Z');
  });

  it('when a report names no unit (HL7, or a fact stored before units were recorded), then it still counts for every unit', () => {
    const e = evaluateStay(stay(b.ready(READY), b.criteria(TO_MUNICIPALITY, ['information-transferred'])), vm);
    expect(duty(e, VC)?.metAt).toBe('2026-05-04T12:00:00.000Z');
    expect(duty(e, MUNICIPALITY)?.metAt).toBe('2026-05-04T12:00:00.000Z');
    expect(e.state.readyAt).toBe('2026-05-04T12:00:00.000Z');
    expect(e.state.informationTransferredAt).toBe('2026-05-04T12:00:00.000Z');
  });
});

describe('the information transfer reported for one unit (no gate)', () => {
  it('when the hospital reports the transfer to the municipality only, then the vårdcentral’s duty is overdue at the discharge day', () => {
    const e = evaluateStay(
      [
        b.admitted(ADM),
        b.needs(ADM, ['socialtjanst', 'kommunal-hsl']),
        transferTo(TO_MUNICIPALITY, MUNICIPALITY),
        b.discharged('2026-05-06T10:00:00+02:00'),
      ],
      lag,
    );
    expect(duty(e, MUNICIPALITY)).toMatchObject({ status: 'completed', metAt: '2026-05-04T12:00:00.000Z' });
    expect(duty(e, VC)).toMatchObject({ status: 'requested', due: '2026-05-06T21:59:59.999Z' });
  });
});

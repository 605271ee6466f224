import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { ReadinessCriterion, StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * Readiness criterion 3 (seed 001 §3, "fast vårdkontakt är utsedd i den landstingsfinansierade öppna vården") is met
 * by the unit of the named care contact. When the stay is re-routed to another unit (the patient listed elsewhere),
 * the contact the first unit appointed is no longer the patient's: under Västmanland's gate a ready notice waits for
 * the new unit's contact. Not when the stay is left without a unit: nobody could meet it again. Criterion 4 (the
 * information transferred to the units that got an admission notice) likewise waits for a transfer to the new unit.
 */
let vm: Agreement;
beforeAll(async () => {
  vm = getAgreement(await loadAgreements(), 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const CRITERIA = '2026-05-04T11:00:00+02:00';
const MOVED = '2026-05-04T12:00:00+02:00';
const READY = '2026-05-04T13:00:00+02:00';
const APPOINTED = '2026-05-04T15:00:00+02:00';
const VC2 = 'SE2321000222-VC2';
const allBut = (c: ReadinessCriterion): ReadinessCriterion[] => b.ALL_CRITERIA.filter((x) => x !== c);
const stay = (...more: StayFact[]): StayFact[] => [
  b.admitted(ADM),
  b.needs(ADM, ['socialtjanst', 'kommunal-hsl']),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(CRITERIA, allBut('physician-assessed')),
  ...more,
];
const relisted = (at: string, primaryCareUnit: string): StayFact =>
  b.fact(at, { kind: 'patient-updated', patient: { primaryCareUnit, outpatientUnit: null } });

describe('the named care contact criterion follows the unit', () => {
  it('when every criterion is met and the patient stays listed where it was, then the ready notice goes out', () => {
    const e = evaluateStay(stay(b.ready(READY)), vm);
    expect(e.state.readyAt).toBe('2026-05-04T11:00:00.000Z');
  });

  it('when the stay is re-routed to another vårdcentral before the ready notice, then the notice is held back for the new unit’s contact, and goes out when it is appointed', () => {
    const held = evaluateStay(stay(relisted(MOVED, VC2), b.ready(READY)), vm);
    expect(held.state.readyAt).toBeUndefined();
    expect(held.state.readyHeldBackAt).toBe('2026-05-04T11:00:00.000Z');
    // the information transfer went to the units the stay had then: the new unit waits for it too (criterion 4)
    expect(held.state.missingCriteria).toEqual(['fvk-appointed', 'information-transferred']);
    expect(held.rejected.map((r) => r.reason).join(' ')).toContain('fast-vardkontakt');

    const released = evaluateStay(
      stay(relisted(MOVED, VC2), b.ready(READY), b.criteria(APPOINTED, ['fvk-appointed', 'information-transferred'])),
      vm,
    );
    expect(released.state.readyAt).toBe('2026-05-04T13:00:00.000Z');
    expect(released.state.readyHeldBackAt).toBeUndefined();
  });

  it('when the message that re-routes the stay reports the criterion itself, then the notice goes out', () => {
    const e = evaluateStay(
      stay(relisted(MOVED, VC2), b.criteria(MOVED, ['fvk-appointed', 'information-transferred']), b.ready(READY)),
      vm,
    );
    expect(e.state.readyAt).toBe('2026-05-04T11:00:00.000Z');
  });

  it('when the stay is re-routed after the information transfer was reported, then the notice waits until the transfer to the new unit is reported (criterion 4, 001 §3: to the units that got an admission notice)', () => {
    const held = evaluateStay(stay(relisted(MOVED, VC2), b.criteria(MOVED, ['fvk-appointed']), b.ready(READY)), vm);
    expect(held.state.readyAt).toBeUndefined();
    expect(held.state.missingCriteria).toEqual(['information-transferred']);
    const released = evaluateStay(
      stay(
        relisted(MOVED, VC2),
        b.criteria(MOVED, ['fvk-appointed']),
        b.ready(READY),
        b.criteria(APPOINTED, ['information-transferred']),
      ),
      vm,
    );
    expect(released.state.readyAt).toBe('2026-05-04T13:00:00.000Z');
    expect(released.state.missingCriteria).toEqual([]);
  });

  it('when the needs are found after the criteria were reported, then the first units reached are no re-routing: the transfer reported counts and the notice goes out', () => {
    const e = evaluateStay(
      [
        b.admitted(ADM),
        b.estimate(ADM, '2026-05-12'),
        b.criteria(CRITERIA, allBut('physician-assessed')),
        b.needs(MOVED, ['socialtjanst', 'kommunal-hsl']),
        b.ready(READY),
      ],
      vm,
    );
    expect(e.state.missingCriteria).toEqual([]);
    expect(e.state.readyAt).toBeDefined();
  });

  it('when the vårdcentral rejects the stay and it is left without a unit, then the criterion met before still counts', () => {
    const rejected = b.fact(MOVED, { kind: 'receiver-rejected', party: `primary-care:${b.VC}`, reason: 'ej-listad' });
    const e = evaluateStay(stay(rejected, b.ready(READY)), vm);
    expect(e.state.fvk).toBeUndefined();
    expect(e.state.readyAt).toBe('2026-05-04T11:00:00.000Z');
  });

  it('when the stay is re-routed after the notice went out, then the notice stands', () => {
    const e = evaluateStay(stay(b.ready(READY), relisted(APPOINTED, VC2)), vm);
    expect(e.state.readyAt).toBe('2026-05-04T11:00:00.000Z');
    expect(e.tasks.filter((t) => t.code === 'utskrivningsklar' && t.status !== 'cancelled').length).toBeGreaterThan(0);
  });
});

/**
 * Since when criterion 3 has been met for the stay's ready time (`StayState.fvkAppointedAt`, the dashboard's time under
 * Västmanland's gate, 001 §3), as criterion 4's (ADR 056): a re-routing to another vårdcentral drops it, the report
 * of the new unit's contact sets it anew, and a ready notice that went out while it was met keeps the time it had then
 * ("när ovanstående sex kriterier är uppfyllda så aktiveras utskrivningsklar").
 */
describe('the time of criterion 3 after a re-routing', () => {
  const transferAgain = b.criteria(MOVED, ['information-transferred']);

  it('when the stay is re-routed to another vårdcentral, then the criterion has no time; the new contact reported, the time of that report', () => {
    const dropped = evaluateStay(stay(relisted(MOVED, VC2), transferAgain, b.ready(READY)), vm).state;
    expect(dropped.fvkAppointedAt).toBeUndefined();
    expect(dropped.criteriaDropped).toEqual(['fvk-appointed', 'information-transferred']);
    expect(dropped.informationTransferredAt).toBe('2026-05-04T10:00:00.000Z');
    const again = evaluateStay(
      stay(relisted(MOVED, VC2), transferAgain, b.ready(READY), b.criteria(APPOINTED, ['fvk-appointed'])),
      vm,
    ).state;
    expect(again.fvkAppointedAt).toBe('2026-05-04T13:00:00.000Z');
    expect(again.readyAt).toBe('2026-05-04T13:00:00.000Z');
  });

  it('when the ready notice went out before the re-routing, then the criterion keeps the time it had then, as the ready notice keeps its own', () => {
    const e = evaluateStay(
      stay(
        b.ready(READY),
        relisted(APPOINTED, VC2),
        b.criteria(APPOINTED, ['fvk-appointed', 'information-transferred']),
      ),
      vm,
    ).state;
    expect(e.readyAt).toBe('2026-05-04T11:00:00.000Z');
    expect(e.fvkAppointedAt).toBe('2026-05-04T09:00:00.000Z');
    expect(e.criteriaDropped).toEqual(['fvk-appointed', 'information-transferred']);
  });

  it('when the stay is left without a unit, or no re-routing changes the unit, then the criterion keeps its first report’s time and the stay is not marked', () => {
    const rejected = b.fact(MOVED, { kind: 'receiver-rejected', party: `primary-care:${b.VC}`, reason: 'ej-listad' });
    for (const more of [[rejected], [b.criteria(APPOINTED, ['fvk-appointed'])]]) {
      const e = evaluateStay(stay(...more, b.ready(READY)), vm).state;
      expect(e.fvkAppointedAt).toBe('2026-05-04T09:00:00.000Z');
      expect(e.criteriaDropped).toBeUndefined();
    }
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * The information needed for further care is transferred "till de enheter som har fått ett inskrivningsmeddelande"
 * (seed 001 §3, criterion 4; 000 "överförd till berörda enheter"): a transfer the hospital reported before the stay
 * was re-routed to another municipality went to the one it had then. The new municipality's duty stays open (with
 * the agreement's deadline) until the hospital reports the transfer again.
 */
let G: Agreement;
let L: Agreement;
beforeAll(async () => {
  const all = await loadAgreements();
  G = getAgreement(all, 'gavleborg');
  L = getAgreement(all, 'lag');
});
const ADM = '2026-05-04T10:00:00+02:00';
const READY = '2026-05-05T09:00:00+02:00';
const TRANSFER = '2026-05-05T10:00:00+02:00';
const MOVED = '2026-05-05T11:00:00+02:00';
const AGAIN = '2026-05-05T14:00:00+02:00';
const SALA = 'municipality:1981';
const base: StayFact[] = [b.admitted(ADM), b.needs(ADM, ['socialtjanst']), b.estimate(ADM, '2026-05-12')];
const moved = b.fact(MOVED, { kind: 'patient-updated', patient: { municipality: '1981' } });
const transfer = (at: string): StayFact => b.criteria(at, ['information-transferred']);

const task = (e: StayEvaluation, key: string): TaskSpec | undefined => e.tasks.find((t) => t.key === key);
const info = (e: StayEvaluation, party: string): TaskSpec | undefined => task(e, `informationsoverforing@${party}`);
const duty = (e: StayEvaluation, party: string): TaskSpec | undefined =>
  task(e, `ansvar:informationsoverforing@${party}`);

describe('the information transfer to a municipality the stay was re-routed to', () => {
  it('when the transfer was reported before the re-routing, then the new municipality’s duty stays open with its deadline (Gävleborg: the day ready)', () => {
    const e = evaluateStay([...base, b.ready(READY), transfer(TRANSFER), moved], G);
    expect(info(e, SALA)?.status).toBe('requested');
    expect(info(e, SALA)?.metAt).toBeUndefined();
    expect(duty(e, SALA)).toMatchObject({ status: 'requested', due: '2026-05-05T21:59:59.999Z' });
    expect(duty(e, SALA)?.metAt).toBeUndefined();
    // The municipality it went to had it: its Task is withdrawn by the re-routing, its transfer stands.
    expect(info(e, `municipality:${b.WESTERAS}`)).toMatchObject({
      status: 'cancelled',
      metAt: '2026-05-05T08:00:00.000Z',
    });
  });

  it('when the hospital reports the transfer again after the re-routing, then the new municipality’s duty is met at that report', () => {
    const e = evaluateStay([...base, b.ready(READY), transfer(TRANSFER), moved, transfer(AGAIN)], G);
    expect(info(e, SALA)?.metAt).toBe('2026-05-05T12:00:00.000Z');
    expect(duty(e, SALA)).toMatchObject({ status: 'completed', metAt: '2026-05-05T12:00:00.000Z' });
    expect(info(e, `municipality:${b.WESTERAS}`)?.metAt).toBe('2026-05-05T08:00:00.000Z');
  });

  it('when the message that re-routes the stay reports the transfer itself, then the duty is met by it', () => {
    const e = evaluateStay([...base, b.ready(READY), moved, transfer(MOVED)], G);
    expect(duty(e, SALA)).toMatchObject({ status: 'completed', metAt: '2026-05-05T09:00:00.000Z' });
  });

  it('when the stay is discharged without a new transfer, then the duty is overdue from the discharge day (lag) while a unit that stayed keeps the transfer', () => {
    const outpatient = b.fact(ADM, { kind: 'needs-assessed', needs: ['socialtjanst', 'kommunal-hsl'] });
    const e = evaluateStay(
      [b.admitted(ADM), outpatient, transfer(TRANSFER), moved, b.discharged('2026-05-06T10:00:00+02:00')],
      L,
    );
    expect(duty(e, SALA)).toMatchObject({ status: 'requested', due: '2026-05-06T21:59:59.999Z' });
    expect(duty(e, `primary-care:${b.VC}`)).toMatchObject({
      status: 'completed',
      metAt: '2026-05-05T08:00:00.000Z',
    });
  });
});

/**
 * Since when criterion 4 has been met for the stay's ready time (`StayState.informationTransferredAt`, the dashboard's
 * time under Västmanland's gate, 001 §3): a re-routing drops it, the report that meets it again sets it anew, and a
 * ready notice that went out while it was met keeps the time it had then ("när ovanstående sex kriterier är uppfyllda
 * så aktiveras utskrivningsklar").
 */
describe('the time of criterion 4 after a re-routing', () => {
  let V: Agreement;
  beforeAll(async () => {
    V = getAgreement(await loadAgreements(), 'vastmanland');
  });
  const others = (at: string): StayFact =>
    b.criteria(at, ['written-information', 'fvk-appointed', 'assistive-devices', 'medication-list']);

  it('when the stay is re-routed after the transfer, then the criterion has no time; reported again, the time of that report', () => {
    const dropped = evaluateStay([...base, others(ADM), transfer(TRANSFER), moved], V).state;
    expect(dropped.informationTransferredAt).toBeUndefined();
    expect(dropped.criteriaDropped).toEqual(['information-transferred']);
    const again = evaluateStay([...base, others(ADM), transfer(TRANSFER), moved, b.ready(AGAIN), transfer(AGAIN)], V);
    expect(again.state.informationTransferredAt).toBe('2026-05-05T12:00:00.000Z');
    expect(again.state.readyAt).toBe('2026-05-05T12:00:00.000Z');
  });

  it('when the ready notice went out before the re-routing, then the criterion keeps the time it had then, as the ready notice keeps its own', () => {
    const e = evaluateStay([...base, others(ADM), transfer(TRANSFER), b.ready(TRANSFER), moved, transfer(AGAIN)], V);
    expect(e.state.readyAt).toBe('2026-05-05T08:00:00.000Z');
    expect(e.state.informationTransferredAt).toBe('2026-05-05T08:00:00.000Z');
  });

  it('when no re-routing drops it, then the criterion has the time of its first report and the stay is not marked', () => {
    const e = evaluateStay([...base, others(ADM), transfer(TRANSFER), transfer(AGAIN)], V).state;
    expect(e.informationTransferredAt).toBe('2026-05-05T08:00:00.000Z');
    expect(e.criteriaDropped).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { computeLiability } from '../../../src/core/liability/compute-liability';
import { parseStaysNdjson } from '../../../src/core/liability/stay';
import { payment, rates, stay, staysWithDays } from './helpers';

const law = payment('lag');
const jonkoping = payment('jonkoping');

describe('ready periods ended by a withdrawal (avbrott) are billed, every one of them', () => {
  it('when a stay was ready, withdrawn and ready again, then each period is liable beyond the law’s 3 days', () => {
    const s = stay({
      id: 'w1',
      readyAt: '2022-03-10T09:00:00+01:00',
      hours: 5 * 24,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-01T09:00:00+01:00', withdrawnAt: '2022-03-06T09:00:00+01:00' }],
    });
    const r = computeLiability({ agreement: 'lag', month: '2022-03', payment: law, stays: [s], rates });
    const got = r.municipalities[0]!.stays[0]!;
    expect(got).toMatchObject({ id: 'w1', days: 10, billableDays: 4, basis: 'individual' });
    expect(got.periods).toEqual([
      { readyAt: '2022-03-01T09:00:00+01:00', endedAt: '2022-03-06T09:00:00+01:00', endedBy: 'withdrawn', days: 5 },
      { readyAt: '2022-03-10T09:00:00+01:00', endedAt: s.dischargedAt, endedBy: 'discharged', days: 5 },
    ]);
    expect(got.reason).toContain('max(0, 5 − 3) + max(0, 5 − 3) days over 2 ready periods');
    // Only the last period (the old behaviour) would have billed 2 days.
    const lastOnly = computeLiability({
      agreement: 'lag',
      month: '2022-03',
      payment: law,
      stays: [{ ...s, withdrawnReadyPeriods: undefined }],
      rates,
    });
    expect(lastOnly.municipalities[0]!.days).toBe(2);
    expect(r.municipalities[0]).toMatchObject({ days: 4, amount: 4 * 9300 });
  });

  it('when the ready status was withdrawn and never given again, then the stay is liable up to the withdrawal', () => {
    const s = stay({
      id: 'w2',
      readyAt: '2022-03-01T09:00:00+01:00',
      hours: 19 * 24,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-01T09:00:00+01:00', withdrawnAt: '2022-03-08T09:00:00+01:00' }],
    });
    const r = computeLiability({
      agreement: 'lag',
      month: '2022-03',
      payment: law,
      stays: [{ ...s, readyAt: null }],
      rates,
    });
    expect(r.municipalities[0]!.stays[0]).toMatchObject({ days: 7, billableDays: 4, basis: 'individual' });
    expect(r.municipalities[0]!.stays[0]!.periods).toHaveLength(1);
  });

  it('when seed 003 kommun B has a stay whose first ready period was withdrawn, then its days count in the average', () => {
    // Kommun B: 10 patients averaging 2.7 → (2.7 − 2.0) × 10 = 7 days. One stay of 3 days is here 1 day ready,
    // withdrawn, then 2 days ready again: the average still is 2.7 only if the withdrawn day counts.
    const stays = staysWithDays([2, 2, 2, 3, 3, 3, 3, 3, 3, 2], '2022-03-05', { municipality: '0602' });
    const split = stays[9]!;
    stays[9] = {
      ...split,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-02T08:00:00+01:00', withdrawnAt: '2022-03-03T09:00:00+01:00' }],
    };
    const r = computeLiability({ agreement: 'jonkoping', month: '2022-03', payment: jonkoping, stays, rates });
    expect(r.municipalities[0]).toMatchObject({ days: 7, amount: 7 * 9300 });
    expect(r.municipalities[0]!.average).toMatchObject({ value: 2.7, patients: 10 });
    expect(r.municipalities[0]!.stays[9]).toMatchObject({ days: 3, basis: 'average' });
    const without = computeLiability({
      agreement: 'jonkoping',
      month: '2022-03',
      payment: jonkoping,
      stays: [...stays.slice(0, 9), split],
      rates,
    });
    expect(without.municipalities[0]!.days).toBe(6);
  });

  it('when seed 003 kommun C’s 9-day stay was split by a withdrawal, then each period is billed beyond 3 days', () => {
    // Kommun C: one stay at 9 days billed individually (9 − 3 = 6). Here its 9 days are 5 + 4 around a
    // withdrawal: still more than 7 days in all, so outside the average; billed (5 − 3) + (4 − 3) = 3 days.
    const stays = staysWithDays([1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 4], '2022-03-10', { municipality: '0603' });
    const long = stays[13]!;
    stays[13] = {
      ...long,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-01T08:00:00+01:00', withdrawnAt: '2022-03-06T09:00:00+01:00' }],
    };
    const r = computeLiability({ agreement: 'jonkoping', month: '2022-03', payment: jonkoping, stays, rates });
    expect(r.municipalities[0]!.stays[13]).toMatchObject({ days: 9, billableDays: 3, basis: 'individual' });
    expect(r.municipalities[0]!.average).toMatchObject({ value: 1.5, patients: 13 });
  });

  it('when a file line has withdrawn periods, then they are read; a period ending before it starts is refused', () => {
    const base = {
      id: 'f1',
      municipality: '1980',
      care: 'somatic',
      admittedAt: '2022-02-20T08:00:00+01:00',
      readyAt: '2022-03-10T09:00:00+01:00',
      dischargedAt: '2022-03-15T09:00:00+01:00',
      admissionNoticeSent: true,
      estimatedDischargeDateSent: true,
      readyNoticeSent: true,
      sipRequired: false,
      sipInvitationSent: false,
    };
    const ok = {
      ...base,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-01T09:00:00Z', withdrawnAt: '2022-03-02T09:00:00Z' }],
    };
    expect(parseStaysNdjson(JSON.stringify(ok))[0]?.withdrawnReadyPeriods).toHaveLength(1);
    const bad = {
      ...base,
      withdrawnReadyPeriods: [{ readyAt: '2022-03-02T09:00:00Z', withdrawnAt: '2022-03-01T09:00:00Z' }],
    };
    expect(() => parseStaysNdjson(JSON.stringify(bad))).toThrow('line 1: withdrawnReadyPeriods');
  });
});

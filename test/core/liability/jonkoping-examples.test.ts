import { describe, expect, it } from 'vitest';
import { computeLiability } from '../../../src/core/liability/compute-liability';
import { payment, rates, stay, staysWithDays } from './helpers';

/** Seed 003 "Ekonomisk reglering", Exempel på beräkning, kommun A–D, at the 2022 vårdpris 9 300 kr. */
const jonkoping = payment('jonkoping');

function run(days: number[]) {
  const report = computeLiability({
    agreement: 'jonkoping',
    month: '2022-03',
    payment: jonkoping,
    stays: staysWithDays(days),
    rates,
  });
  expect(report.municipalities).toHaveLength(1);
  return report.municipalities[0]!;
}

describe('Jönköping worked examples (seed 003)', () => {
  it('when 14 patients average 1.7 and none exceeds 7 days (A), then nothing is billed', () => {
    // 24 days over 14 patients = 1.71 → 1.7
    const m = run([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3]);
    expect(m.average).toEqual({ value: 1.7, patients: 14, threshold: 2 });
    expect(m.days).toBe(0);
    expect(m.amount).toBe(0);
  });

  it('when 10 patients average 2.7 (B), then (2.7 − 2.0) × 10 = 7 days × vårdpris', () => {
    const m = run([2, 2, 2, 3, 3, 3, 3, 3, 3, 3]); // 27 / 10
    expect(m.average?.value).toBe(2.7);
    expect(m.days).toBe(7);
    expect(m.amount).toBe(65_100); // 7 × 9 300
    expect(m.stays.every((s) => s.basis === 'average' && s.billableDays === 0.7)).toBe(true);
  });

  it('when one of 14 patients was ready 9 days and the rest average 1.50 (C), then only 9 − 3 = 6 individual days', () => {
    const m = run([1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 9]); // 19/13 = 1.46 → 1.5
    expect(m.average).toEqual({ value: 1.5, patients: 13, threshold: 2 });
    const long = m.stays.find((s) => s.days === 9)!;
    expect(long).toMatchObject({ basis: 'individual', billableDays: 6 });
    expect(m.days).toBe(6);
    expect(m.amount).toBe(55_800); // 6 × 9 300
  });

  it('when 2 of 26 were ready 10 and 12 days and the other 24 average 3.4 (D), then (3.4 − 2.0) × 24 + 16 days', () => {
    const rest = [...Array(14).fill(3), ...Array(10).fill(4)] as number[]; // 82 / 24 = 3.42 → 3.4
    const m = run([...rest, 10, 12]);
    expect(m.patients).toBe(26);
    expect(m.average).toEqual({ value: 3.4, patients: 24, threshold: 2 });
    const individual = m.stays.filter((s) => s.basis === 'individual').map((s) => s.billableDays);
    expect(individual.sort()).toEqual([7, 9]);
    expect(m.days).toBe(49.6); // 33.6 + 16
    expect(m.amount).toBe(461_280); // 49.6 × 9 300
  });

  it('when a patient was ready exactly 7 days, then it stays in the average; at 8 it is individual', () => {
    const m = run([7, 8]);
    expect(m.stays.map((s) => s.basis)).toEqual(['average', 'individual']);
    expect(m.stays[1]!.billableDays).toBe(5);
  });

  it('when the discharge is 1 h or 23 h 59 min after the ready notice, then it is day 0; 24 h is day 1', () => {
    const ready = '2022-03-01T08:00:00+01:00';
    const stays = [1, 23 + 59 / 60, 24].map((hours) => stay({ readyAt: ready, hours }));
    const r = computeLiability({ agreement: 'jonkoping', month: '2022-03', payment: jonkoping, stays, rates });
    expect(r.municipalities[0]!.stays.map((s) => s.days)).toEqual([0, 0, 1]);
  });

  it('when the month is before 2018-03-01, then the model refuses and points to the law', () => {
    expect(() =>
      computeLiability({ agreement: 'jonkoping', month: '2018-02', payment: jonkoping, stays: [], rates }),
    ).toThrow(/from 2018-03-01/);
  });
});

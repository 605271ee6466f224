import { describe, expect, it } from 'vitest';
import { computeLiability, type LiabilityInput } from '../../../src/core/liability/compute-liability';
import { paymentModelSchema } from '../../../src/core/liability/payment-model';
import { payment, rates, stay, staysWithDays } from './helpers';

const law = payment('lag');
const run = (over: Partial<LiabilityInput> & Pick<LiabilityInput, 'stays'>) =>
  computeLiability({ agreement: 'lag', month: '2022-03', payment: law, rates, ...over });

describe('law default (SFS 2017:612 5 kap. 4 §)', () => {
  it('when the ready notice is sent before 12.00, then liability starts after 3 calendar days', () => {
    // ready Tue 1 March 10:00, discharged Sat 5 March: 4 days counted, 1 billable
    const s = stay({ readyAt: '2022-03-01T10:00:00+01:00', hours: 4 * 24 });
    const m = run({ stays: [s] }).municipalities[0]!;
    expect(m.stays[0]).toMatchObject({ days: 4, billableDays: 1, basis: 'individual' });
    expect(m.amount).toBe(9300);
  });

  it('when the ready notice is sent after 12.00, then liability starts after 4 days', () => {
    const s = stay({ readyAt: '2022-03-01T12:01:00+01:00', hours: 4 * 24 });
    expect(run({ stays: [s] }).municipalities[0]!.stays[0]).toMatchObject({ days: 3, billableDays: 0 });
    const exactlyNoon = stay({ readyAt: '2022-03-01T12:00:00+01:00', hours: 4 * 24 });
    expect(run({ stays: [exactlyNoon] }).municipalities[0]!.stays[0]).toMatchObject({ days: 4, billableDays: 1 });
  });

  it('when calendar days cross the spring DST change, then local dates are counted, not 24 h blocks', () => {
    // Summer time starts 27 March 2022: 26 March 11:30 CET + 36 h = 28 March 00:30 CEST → 2 local days
    const s = stay({ readyAt: '2022-03-26T11:30:00+01:00', hours: 36 });
    expect(run({ stays: [s] }).municipalities[0]!.stays[0]!.days).toBe(2);
  });

  it.each([
    [{ admissionNoticeSent: false }, 'admission notice'],
    [{ estimatedDischargeDateSent: false }, 'estimated discharge date'],
    [{ readyNoticeSent: false }, 'ready-for-discharge notice'],
    [{ sipRequired: true, sipInvitationSent: false }, 'invitation'],
    [{ outpatientServicesUnavailable: true }, '5 kap. 5 §'],
  ])('when a precondition fails (%j), then the stay is not-liable naming it', (over, word) => {
    const s = stay({ readyAt: '2022-03-01T08:00:00+01:00', hours: 10 * 24, ...over });
    const m = run({ stays: [s] }).municipalities[0]!;
    expect(m.stays[0]!.basis).toBe('not-liable');
    expect(m.stays[0]!.reason).toContain(word);
    expect(m.days).toBe(0);
  });

  it('when a municipality placed the person elsewhere, then the placing municipality pays', () => {
    const s = stay({
      readyAt: '2022-03-01T08:00:00+01:00',
      hours: 5 * 24,
      municipality: '0680',
      placingMunicipality: '0685',
    });
    const r = run({ stays: [s] });
    expect(r.municipalities.map((m) => m.municipality)).toEqual(['0685']);
  });

  it('when a psychiatric patient was ready in 2018, then 30 free days apply; in 2019 the somatic rule', () => {
    const s2018 = stay({ readyAt: '2018-12-01T08:00:00+01:00', hours: 35 * 24, care: 'psychiatric' });
    const r2019 = stay({ readyAt: '2019-01-02T08:00:00+01:00', hours: 5 * 24, care: 'psychiatric' });
    // 2018 has no vårdpris in the table: the report for January 2019 holds both (discharged in January)
    const m = run({ month: '2019-01', stays: [s2018, r2019] }).municipalities[0]!;
    expect(m.stays.map((x) => x.billableDays)).toEqual([5, 2]);
    expect(m.amount).toBe(7 * 7800);
  });

  it('when the year has no vårdpris, then it fails naming the year and the table', () => {
    expect(() => run({ month: '2021-05', stays: [] })).toThrow(/no daily amount \(vårdpris\) for 2021/);
  });

  it('when a stay is discharged in another month or not yet, then it is not in the month', () => {
    const april = stay({ readyAt: '2022-03-30T08:00:00+02:00', hours: 5 * 24 });
    const open = { ...stay({ readyAt: '2022-03-01T08:00:00+01:00', hours: 1 }), dischargedAt: null };
    expect(run({ stays: [april, open] }).municipalities).toEqual([]);
  });
});

describe('Västmanland (001 §7): average over 3 → individual liability from the next month', () => {
  const vm = payment('vastmanland');
  const months = (stays: ReturnType<typeof staysWithDays>, month: string) =>
    computeLiability({ agreement: 'vastmanland', month, payment: vm, stays, rates }).municipalities[0]!;
  const jan = staysWithDays([3, 4], '2022-01-10'); // average 3.5 > 3
  const feb = staysWithDays([5, 1], '2022-02-10'); // average 3.0, liable (from January)
  const mar = staysWithDays([6, 2], '2022-03-10'); // average 4 but not liable (February was 3.0)
  const apr = staysWithDays([4], '2022-04-10'); // liable again (March > 3)
  const all = [...jan, ...feb, ...mar, ...apr];

  it('when January averages over 3, then January itself is not billed and February is billed per individual', () => {
    expect(months(all, '2022-01').days).toBe(0);
    const f = months(all, '2022-02');
    expect(f.liableThisMonth?.liable).toBe(true);
    expect(f.stays.map((s) => [s.basis, s.billableDays])).toEqual([
      ['individual', 2],
      ['individual', 0],
    ]);
    expect(f.amount).toBe(2 * 9300);
  });

  it('when a whole month averages 3.0 or lower, then liability ends from the following month', () => {
    const m = months(all, '2022-03');
    expect(m.liableThisMonth?.liable).toBe(false);
    expect(m.days).toBe(0);
    expect(m.average?.value).toBe(4);
    expect(months(all, '2022-04').liableThisMonth?.liable).toBe(true);
  });

  it('when no earlier month is in the input, then no liability with a reason saying so', () => {
    const m = months(apr, '2022-04');
    expect(m.liableThisMonth).toEqual({ liable: false, reason: expect.stringContaining('no data for 2022-03') });
  });

  it('when earlier averages are given as history, then they decide like stays would', () => {
    const r = computeLiability({
      agreement: 'vastmanland',
      month: '2022-04',
      payment: vm,
      stays: apr,
      rates,
      history: [{ municipality: '0680', month: '2022-03', average: 3.2, patients: 10 }],
    });
    expect(r.municipalities[0]!.liableThisMonth?.liable).toBe(true);
  });
});

describe('Stockholm (average model, day 0 counted, 12.00 rule)', () => {
  const st = payment('stockholm');
  it('when ready before noon and discharged the same day, then day 0; psychiatric billed beyond 5 days', () => {
    const sameDay = stay({ readyAt: '2022-03-01T09:00:00+01:00', hours: 5 });
    const late = stay({ readyAt: '2022-03-01T15:00:00+01:00', hours: 24 * 4 }); // counts from 2 March: 3 days
    const psych = stay({ readyAt: '2022-03-01T09:00:00+01:00', hours: 24 * 8, care: 'psychiatric' });
    const m = computeLiability({
      agreement: 'stockholm',
      month: '2022-03',
      payment: st,
      stays: [sameDay, late, psych],
      rates,
    }).municipalities[0]!;
    expect(m.stays.map((s) => s.days)).toEqual([0, 3, 8]);
    expect(m.stays[2]).toMatchObject({ basis: 'individual', billableDays: 3 });
    expect(m.average).toEqual({ value: 1.5, patients: 2, threshold: 3 });
    expect(m.days).toBe(3);
  });
});

describe('payment model schema', () => {
  it('when a block is empty or has a cut-off with 24 h blocks, then validation fails with a path', () => {
    expect(paymentModelSchema.safeParse({}).success).toBe(false);
    const bad = { ...payment('jonkoping'), dayCount: { ...payment('jonkoping').dayCount, cutoff: '12:00' } };
    const r = paymentModelSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['dayCount', 'cutoff']);
  });
});

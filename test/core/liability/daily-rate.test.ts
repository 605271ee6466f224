import { describe, expect, it } from 'vitest';
import { computeLiability } from '../../../src/core/liability/compute-liability';
import { payment, rates } from './helpers';

const year = (y: number) => ({
  agreement: 'lag',
  month: `${y}-06`,
  payment: payment('lag'),
  stays: [],
  rates,
});

describe('daily amount (vårdpris) per year', () => {
  it('when a year 2018–2026 is asked, then it has a confirmed amount with a source or fails saying what is known', () => {
    for (let y = 2018; y <= 2026; y++) {
      const key = String(y);
      const confirmed = rates.rates[key];
      if (confirmed !== undefined) {
        expect(rates.sources?.[key], key).toMatch(/kronor/);
        const r = computeLiability(year(y));
        expect(r.dailyRate).toBe(confirmed);
        expect(r.dailyRateSource).toBe(rates.sources?.[key]);
      } else {
        const note = rates.unconfirmed?.[key];
        expect(note, `${key} must be listed as unconfirmed`).toBeTruthy();
        expect(() => computeLiability(year(y))).toThrow(`no daily amount (vårdpris) for ${key} (${note})`);
      }
    }
  });

  it('when the 2019 and 2023 regulations are looked up, then the table holds their amounts and numbers', () => {
    expect(rates.rates['2019']).toBe(7800);
    expect(rates.sources?.['2019']).toContain('HSLF-FS 2018:67');
    expect(rates.rates['2023']).toBe(10500);
    expect(rates.sources?.['2023']).toContain('HSLF-FS 2022:60');
    expect(rates.unconfirmed?.['2026']).toContain('HSLF-FS 2025:74');
  });

  it('when the agreement sets its own amount for the year, then that amount applies and is named as agreed', () => {
    const p = { ...payment('lag'), dailyRates: { '2026': 9999 } };
    const r = computeLiability({ ...year(2026), payment: p });
    expect(r.dailyRate).toBe(9999);
    expect(r.dailyRateSource).toBe('agreement lag: payment.dailyRates');
  });

  it('when an agreed amount is given for the year, then it wins over the table and the agreement file', () => {
    const p = { ...payment('lag'), dailyRates: { '2022': 1 } };
    const agreedRates = { rates: { '2022': 8000 }, source: 'on the command line' };
    const r = computeLiability({ ...year(2022), payment: p, agreedRates });
    expect(r).toMatchObject({ dailyRate: 8000, dailyRateSource: 'on the command line' });
  });
});

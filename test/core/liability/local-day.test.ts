import { describe, expect, it } from 'vitest';
import { countDays, localDayNumber, localMonth, localParts } from '../../../src/core/liability/day-count';
import type { DayCount } from '../../../src/core/liability/payment-model';

const TZ = 'Europe/Stockholm';

describe('the local month and day of an instant without the strings', () => {
  it('when instants cross midnight, month ends and both DST changes, then they agree with localParts', () => {
    const instants: string[] = [
      '2023-03-31T21:59:59.999Z', // 23:59:59 CEST, still March
      '2023-03-31T22:00:00.000Z', // 00:00 CEST, April
      '2023-03-26T00:59:59Z', // just before the spring change
      '2023-03-26T01:00:00Z',
      '2023-10-29T00:30:00Z', // the autumn change's repeated hour
      '2023-10-29T01:30:00Z',
      '2023-12-31T22:59:59Z', // 23:59:59 CET, still 2023
      '2023-12-31T23:00:00Z', // 2024-01-01 00:00 CET
      '2024-02-29T12:00:00+01:00',
    ];
    // and an instant every 37 minutes over two years
    for (let ms = Date.UTC(2022, 11, 1); ms < Date.UTC(2024, 11, 31); ms += 37 * 60_000) {
      instants.push(new Date(ms).toISOString());
    }
    for (const iso of instants) {
      const p = localParts(iso, TZ);
      expect(localMonth(iso, TZ), iso).toBe(p.month);
      expect(localDayNumber(iso, TZ), iso).toBe(p.dayNumber);
    }
    expect(localMonth('2023-03-31T22:00:00.000Z', TZ)).toBe('2023-04');
    expect(localMonth('2023-12-31T23:00:00Z', TZ)).toBe('2024-01');
  });
});

describe('calendar days after a ready notice, with a cut-off', () => {
  const dc: DayCount = {
    unit: 'calendar-days',
    timeZone: TZ,
    cutoff: '12:00',
    source: { document: 'SFS 2017:612', section: '5 kap. 4 §' },
  };
  /** The rule as written: local dates, and a notice later than HH:MM:00 counts from the next day. */
  const reference = (readyAt: string, dischargedAt: string) => {
    const r = localParts(readyAt, TZ);
    const late = r.time > '12:00:00' ? 1 : 0;
    return Math.max(0, localParts(dischargedAt, TZ).dayNumber - r.dayNumber - late);
  };

  it('when the notice is at the cut-off to the second, or just after it, then the day it counts from follows the rule', () => {
    expect(countDays('2023-03-01T12:00:00.999+01:00', '2023-03-05T09:00:00+01:00', dc)).toBe(4);
    expect(countDays('2023-03-01T12:00:01+01:00', '2023-03-05T09:00:00+01:00', dc)).toBe(3);
    expect(countDays('2023-07-01T11:59:59+02:00', '2023-07-02T00:00:00+02:00', dc)).toBe(1);
    expect(countDays('2023-07-01T12:00:01+02:00', '2023-07-02T00:00:00+02:00', dc)).toBe(0);
  });

  it('when notices and discharges fall every 53 minutes over a year with both DST changes, then it equals the rule', () => {
    for (let ms = Date.UTC(2023, 0, 1); ms < Date.UTC(2024, 0, 1); ms += 53 * 60_000) {
      const readyAt = new Date(ms).toISOString();
      for (const after of [0, 7, 26, 49, 100]) {
        const dischargedAt = new Date(ms + after * 3_600_000 + 1234).toISOString();
        expect(countDays(readyAt, dischargedAt, dc), `${readyAt} ${dischargedAt}`).toBe(
          reference(readyAt, dischargedAt),
        );
      }
    }
  });
});

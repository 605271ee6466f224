import { describe, expect, it } from 'vitest';
import { localDayNumber, localMonth, localParts } from '../../../src/core/liability/day-count';

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

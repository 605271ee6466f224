import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoUtc, utcFields } from '../../../src/core/calendar';

describe('fast UTC fields', () => {
  it('when any instant between 1900 and 2200 is formatted, then it equals Date#toISOString and the Date getters', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }), (ms) => {
        const d = new Date(ms);
        expect(isoUtc(ms)).toBe(d.toISOString());
        expect(utcFields(ms).weekday).toBe(d.getUTCDay());
      }),
      { numRuns: 5000 },
    );
  });

  it('when the instant is at a leap day or year boundary, then the fields are right', () => {
    for (const s of [
      '2024-02-29T23:59:59.999Z',
      '2025-01-01T00:00:00.000Z',
      '2000-02-29T12:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
    ]) {
      expect(isoUtc(Date.parse(s))).toBe(s);
    }
  });
});

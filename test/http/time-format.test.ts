import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { swedishMinute, swedishTime, TIME_SCRIPT } from '../../src/http/time-format';

/** The very script the console's pages run (src/http/time-format.ts), in Node's Intl. */
const { when, isInstant, fromStockholm } = runInNewContext(`${TIME_SCRIPT}; ({ when, isInstant, fromStockholm })`) as {
  when: (v: string) => string;
  isInstant: (v: unknown) => boolean;
  fromStockholm: (v: string) => string;
};

describe('console times in Swedish time', () => {
  it('when an instant is shown, then it is Europe/Stockholm time with its offset, winter and summer', () => {
    expect(when('2026-03-01T08:00:00Z')).toBe('2026-03-01 09:00:00 +01:00');
    expect(when('2026-07-01T08:00:00.000Z')).toBe('2026-07-01 10:00:00 +02:00');
    expect(when('2026-12-31T23:30:00Z')).toBe('2027-01-01 00:30:00 +01:00');
    expect(when('2026-07-01T10:00:00+02:00')).toBe('2026-07-01 10:00:00 +02:00');
  });

  it('when a cell holds an instant with a zone, then it is recognised; dates, ids and numbers are not', () => {
    expect(isInstant('2026-03-01T08:00:00.123Z')).toBe(true);
    expect(isInstant('2026-03-01T09:00:00+01:00')).toBe(true);
    for (const v of ['2026-03-01', 'hl7-abc', '2026-03-01T08:00:00', 42, null]) expect(isInstant(v)).toBe(false);
  });

  it('when the admin types a time into a search field, then it is read as Swedish time', () => {
    expect(fromStockholm('2026-03-01T09:00')).toBe('2026-03-01T08:00:00.000Z');
    expect(fromStockholm('2026-07-01T10:00')).toBe('2026-07-01T08:00:00.000Z');
    // The first hour of summer time (02:00 becomes 03:00 on 2026-03-29) and the last of winter time.
    expect(fromStockholm('2026-03-29T03:30')).toBe('2026-03-29T01:30:00.000Z');
    expect(fromStockholm('2026-03-29T01:30')).toBe('2026-03-29T00:30:00.000Z');
  });

  it('when a page is rendered on the server, then its times come from the same script: Swedish time with its offset', () => {
    for (const iso of ['2026-03-01T08:00:00Z', '2026-07-01T08:00:00.000Z', '2026-12-31T23:30:00Z']) {
      expect(swedishTime(iso)).toBe(when(iso));
    }
    expect(swedishTime('2026-03-29T01:30:00Z')).toBe('2026-03-29 03:30:00 +02:00');
    expect(swedishTime(undefined)).toBeUndefined();
    expect(swedishTime('not a time')).toBe('not a time');
  });

  it('when a text says once that its times are Swedish time, then each time is the same script’s, to the minute', () => {
    for (const iso of ['2026-03-01T08:00:00Z', '2026-07-01T08:00:00.000Z', '2026-12-31T23:30:00Z']) {
      expect(swedishMinute(iso)).toBe(when(iso).slice(0, 16));
    }
    expect(swedishMinute('2026-05-08T13:00:00+02:00')).toBe('2026-05-08 13:00');
    expect(swedishMinute('2026-12-02T09:00:00Z')).toBe('2026-12-02 10:00');
    expect(swedishMinute(undefined)).toBeUndefined();
    expect(swedishMinute('not a time')).toBe('not a time');
  });
});

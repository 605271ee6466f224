import { describe, expect, it } from 'vitest';
import {
  addDuration,
  addDurationIso,
  endOfLocalDay,
  fromLocal,
  localDate,
  parseDuration,
  parseInstant,
  startOfLocalDay,
  stockholmOffsetMs,
} from '../../../src/core/calendar';

const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Stockholm', timeZoneName: 'shortOffset' });
const intlOffsetMs = (ms: number): number => {
  const parts = fmt.formatToParts(new Date(ms));
  const tz = parts.find((p) => p.type === 'timeZoneName')!.value; // "GMT+1" / "GMT+2"
  return Number(tz.replace('GMT', '')) * 3_600_000;
};

describe('Europe/Stockholm offsets', () => {
  it('when compared with the platform time zone database every 5 hours over 2018–2032, then the EU rule agrees', () => {
    const start = Date.UTC(2018, 0, 1);
    const end = Date.UTC(2032, 11, 31);
    for (let t = start; t < end; t += 5 * 3_600_000 + 17 * 60_000) {
      expect(stockholmOffsetMs(t), new Date(t).toISOString()).toBe(intlOffsetMs(t));
    }
  });

  it('when the clocks go forward on 2026-03-29 at 02:00, then 01:59:59 is CET and 03:00 is CEST', () => {
    expect(stockholmOffsetMs(Date.parse('2026-03-29T00:59:59Z'))).toBe(3_600_000);
    expect(stockholmOffsetMs(Date.parse('2026-03-29T01:00:00Z'))).toBe(7_200_000);
  });

  it('when a wall-clock time falls in the spring gap (02:30 on 2026-03-29), then it moves forward to 03:30 CEST', () => {
    const t = fromLocal({ year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0, ms: 0 });
    expect(new Date(t).toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('when a wall-clock time is ambiguous in the autumn overlap (02:30 on 2026-10-25), then the earlier (CEST) instant is taken', () => {
    const t = fromLocal({ year: 2026, month: 10, day: 25, hour: 2, minute: 30, second: 0, ms: 0 });
    expect(new Date(t).toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('when a bare date is parsed, then it is the start of that Stockholm day', () => {
    expect(new Date(parseInstant('2026-07-01')).toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(new Date(parseInstant('2026-01-15')).toISOString()).toBe('2026-01-14T23:00:00.000Z');
    expect(Number.isNaN(parseInstant('not a date'))).toBe(true);
  });

  it('when the day is 23 or 25 hours long, then start and end of day follow local midnight', () => {
    const spring = Date.parse('2026-03-29T12:00:00Z');
    expect(new Date(startOfLocalDay(spring)).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(new Date(endOfLocalDay(spring)).toISOString()).toBe('2026-03-29T21:59:59.999Z');
    const autumn = Date.parse('2026-10-25T12:00:00Z');
    expect(new Date(startOfLocalDay(autumn)).toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(new Date(endOfLocalDay(autumn)).toISOString()).toBe('2026-10-25T22:59:59.999Z');
    expect(localDate(Date.parse('2026-10-25T22:30:00Z'))).toBe('2026-10-25');
    expect(localDate(Date.parse('2026-10-25T23:30:00Z'))).toBe('2026-10-26');
  });
});

describe('durations (contract: ISO 8601 with a stated kind)', () => {
  it('when ISO 8601 durations are parsed, then each part and the sign are read', () => {
    expect(parseDuration('PT24H')).toMatchObject({ sign: 1, hours: 24 });
    expect(parseDuration('P3D')).toMatchObject({ days: 3 });
    expect(parseDuration('P1M')).toMatchObject({ months: 1 });
    expect(parseDuration('PT30S')).toMatchObject({ seconds: 30 });
    expect(parseDuration('-PT4H')).toMatchObject({ sign: -1, hours: 4 });
    expect(parseDuration('P1Y2M3W4DT5H6M7.5S')).toEqual({
      sign: 1,
      years: 1,
      months: 2,
      weeks: 3,
      days: 4,
      hours: 5,
      minutes: 6,
      seconds: 7.5,
    });
    for (const bad of ['P', 'PT', '24H', 'P1H', 'PT1D', '']) expect(() => parseDuration(bad), bad).toThrow();
  });

  it('when 24 h elapsed are added across the March switch (001 §5.2.1), then the local clock shows one hour later', () => {
    expect(addDurationIso('2026-03-28T10:00:00+01:00', 'PT24H', 'elapsed')).toBe('2026-03-29T09:00:00.000Z');
    // 09:00Z on 29 March is 11:00 CEST: 24 h later in elapsed time, 25 h later on the wall clock.
  });

  it('when 24 h elapsed are added across the October switch, then the local clock shows one hour earlier', () => {
    expect(addDurationIso('2026-10-24T10:00:00+02:00', 'PT24H', 'elapsed')).toBe('2026-10-25T08:00:00.000Z');
    // 08:00Z on 25 October is 09:00 CET.
  });

  it('when 3 calendar days are added across the March switch (001 §5.2.2), then the wall-clock time is kept (71 h elapsed)', () => {
    const from = Date.parse('2026-03-27T10:00:00+01:00');
    const to = addDuration(from, 'P3D', 'calendar-days');
    expect(new Date(to).toISOString()).toBe('2026-03-30T08:00:00.000Z'); // 10:00 CEST
    expect((to - from) / 3_600_000).toBe(71);
  });

  it('when 3 calendar days are added across the October switch, then the wall-clock time is kept (73 h elapsed)', () => {
    const from = Date.parse('2026-10-23T10:00:00+02:00');
    const to = addDuration(from, 'P3D', 'calendar-days');
    expect(new Date(to).toISOString()).toBe('2026-10-26T09:00:00.000Z'); // 10:00 CET
    expect((to - from) / 3_600_000).toBe(73);
  });

  it('when one month is added (003 Steg 6), then the same day next month is reached, clamped at month end', () => {
    expect(addDurationIso('2026-01-31T14:00:00+01:00', 'P1M', 'calendar-days')).toBe('2026-02-28T13:00:00.000Z');
    expect(addDurationIso('2026-03-15T14:00:00+01:00', 'P1M', 'calendar-days')).toBe('2026-04-15T12:00:00.000Z');
    expect(addDurationIso('2026-12-15T14:00:00+01:00', 'P1M', 'calendar-days')).toBe('2027-01-15T13:00:00.000Z');
  });

  it('when the deadline is the same day (P0D end-of-day, 002), then it is the last millisecond of the local day', () => {
    expect(addDurationIso('2026-03-29T00:30:00+01:00', 'P0D', 'end-of-day')).toBe('2026-03-29T21:59:59.999Z');
    expect(addDurationIso('2026-10-25T23:30:00+01:00', 'P0D', 'end-of-day')).toBe('2026-10-25T22:59:59.999Z');
    expect(addDurationIso('2026-06-10T12:00:00+02:00', 'P1D', 'end-of-day')).toBe('2026-06-11T21:59:59.999Z');
  });

  it('when seconds and negative offsets are used (demo agreements, ladder reminders), then they are exact', () => {
    expect(addDurationIso('2026-06-10T12:00:00Z', 'PT30S', 'elapsed')).toBe('2026-06-10T12:00:30.000Z');
    expect(addDurationIso('2026-06-10T12:00:00Z', '-PT4H', 'elapsed')).toBe('2026-06-10T08:00:00.000Z');
    expect(addDurationIso('2026-06-10T12:00:00Z', '-P1D', 'calendar-days')).toBe('2026-06-09T12:00:00.000Z');
  });

  it('when months are given as elapsed time, then it is refused (a month has no fixed length)', () => {
    expect(() => addDuration(0, 'P1M', 'elapsed')).toThrow(/calendar-days/);
  });
});

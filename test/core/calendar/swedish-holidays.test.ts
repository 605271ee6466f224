import Holidays from 'date-holidays';
import { describe, expect, it } from 'vitest';
import {
  deadlinesOverHolidays,
  deadlinesOverNextHoliday,
  nextHolidayPeriod,
  easterSunday,
  holidayPeriods,
  isNonWorkingDay,
  swedishHolidays,
} from '../../../src/core/calendar';

describe('Swedish public holidays', () => {
  it('when compared with the date-holidays package for 2018–2035, then public holidays and eves agree', () => {
    const hd = new Holidays('SE');
    for (let year = 2018; year <= 2035; year++) {
      const theirs = hd
        .getHolidays(year)
        .filter((h) => h.type === 'public' || h.type === 'bank')
        .map((h) => `${h.date.slice(0, 10)} ${h.type === 'public' ? 'public' : 'eve'}`)
        .sort();
      const ours = swedishHolidays(year)
        .filter((h) => h.name !== 'Påskafton') // a Saturday; date-holidays lists it as an observance
        .map((h) => `${h.date} ${h.kind}`)
        .sort();
      expect(ours, String(year)).toEqual(theirs);
    }
  });

  it('when Easter is computed, then known dates come out', () => {
    expect(easterSunday(2019)).toBe('2019-04-21');
    expect(easterSunday(2024)).toBe('2024-03-31');
    expect(easterSunday(2026)).toBe('2026-04-05');
    expect(easterSunday(2038)).toBe('2038-04-25');
  });

  it('when days are classified, then weekends, holidays and eves are non-working', () => {
    expect(isNonWorkingDay('2026-04-03')).toBe(true); // Långfredagen
    expect(isNonWorkingDay('2026-12-24')).toBe(true); // Julafton (Thursday)
    expect(isNonWorkingDay('2026-11-28')).toBe(true); // Saturday
    expect(isNonWorkingDay('2026-11-24')).toBe(false); // Tuesday
  });
});

describe('major holiday periods (001 §5: storhelger med många röda dagar i följd)', () => {
  it('when Easter 2026 is scanned, then Good Friday to Easter Monday is one 4-day period', () => {
    const p = holidayPeriods('2026-03-30', '2026-04-10');
    expect(p).toEqual([
      {
        start: '2026-04-03',
        end: '2026-04-06',
        days: 4,
        holidays: ['Långfredagen', 'Påskafton', 'Påskdagen', 'Annandag påsk'],
      },
    ]);
  });

  it('when Christmas 2026 is scanned, then Julafton–Sunday 27 December is one period and Nyårsafton–Sunday 3 January another', () => {
    const p = holidayPeriods('2026-12-20', '2027-01-05');
    expect(p.map((x) => `${x.start}..${x.end}`)).toEqual(['2026-12-24..2026-12-27', '2026-12-31..2027-01-03']);
  });

  it('when an ordinary weekend is scanned, then it is no holiday period', () => {
    expect(holidayPeriods('2026-11-20', '2026-11-30')).toEqual([]);
  });

  it('when deadlines are listed over a holiday (001 §5), then only those due inside the period are reported, sorted', () => {
    const items = [
      { key: 'b', due: '2026-04-05T10:00:00+02:00' },
      { key: 'a', due: '2026-04-03T08:00:00+02:00' },
      { key: 'before', due: '2026-04-02T23:59:59+02:00' },
      { key: 'after', due: '2026-04-07T00:00:00+02:00' },
      { key: 'none' },
      { key: 'late-utc', due: '2026-04-06T21:30:00Z' }, // 23:30 local on Annandag påsk
    ];
    const r = deadlinesOverHolidays(items, '2026-03-30', 14);
    expect(r).toHaveLength(1);
    expect(r[0]!.due.map((i) => i.key)).toEqual(['a', 'b', 'late-utc']);
  });
});

describe('the next major holiday', () => {
  it('when asked in late November 2026, then Christmas is next and the deadlines due over it are listed', () => {
    expect(nextHolidayPeriod('2026-11-24')).toMatchObject({ start: '2026-12-24', end: '2026-12-27', days: 4 });
    const r = deadlinesOverNextHoliday(
      [
        { key: 'x', due: '2026-12-25T09:00:00+01:00' },
        { key: 'y', due: '2026-12-28T09:00:00+01:00' },
      ],
      '2026-11-24',
    );
    expect(r?.due.map((i) => i.key)).toEqual(['x']);
  });

  it('when asked in the middle of a holiday, then that holiday is the answer', () => {
    expect(nextHolidayPeriod('2026-04-05')).toMatchObject({ start: '2026-04-03', end: '2026-04-06' });
  });
});

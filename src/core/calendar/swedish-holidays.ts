import { addDaysToDate, formatDate } from './stockholm-time';

/**
 * Swedish public holidays (allmänna helgdagar, lag 1989:253) and the eves that are non-working days in
 * practice (midsommarafton, julafton, nyårsafton: treated as Sundays in working-time law). Computed, pure.
 */
export interface Holiday {
  date: string; // YYYY-MM-DD
  name: string;
  kind: 'public' | 'eve';
}

/** Easter Sunday (Gregorian, anonymous algorithm), `YYYY-MM-DD`. */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return formatDate(year, month, day);
}

/** The date in [from, from+6] that falls on the given weekday (0 = Sunday … 6 = Saturday). */
function weekdayOnOrAfter(year: number, month: number, day: number, weekday: number): string {
  const base = new Date(Date.UTC(year, month - 1, day));
  const diff = (weekday - base.getUTCDay() + 7) % 7;
  return addDaysToDate(formatDate(year, month, day), diff);
}

const cache = new Map<number, Holiday[]>();

export function swedishHolidays(year: number): Holiday[] {
  const hit = cache.get(year);
  if (hit) return hit;
  const easter = easterSunday(year);
  const midsummerDay = weekdayOnOrAfter(year, 6, 20, 6);
  const list: Holiday[] = [
    { date: formatDate(year, 1, 1), name: 'Nyårsdagen', kind: 'public' },
    { date: formatDate(year, 1, 6), name: 'Trettondedag jul', kind: 'public' },
    { date: addDaysToDate(easter, -2), name: 'Långfredagen', kind: 'public' },
    { date: addDaysToDate(easter, -1), name: 'Påskafton', kind: 'eve' },
    { date: easter, name: 'Påskdagen', kind: 'public' },
    { date: addDaysToDate(easter, 1), name: 'Annandag påsk', kind: 'public' },
    { date: formatDate(year, 5, 1), name: 'Första maj', kind: 'public' },
    { date: addDaysToDate(easter, 39), name: 'Kristi himmelsfärdsdag', kind: 'public' },
    { date: addDaysToDate(easter, 49), name: 'Pingstdagen', kind: 'public' },
    { date: formatDate(year, 6, 6), name: 'Sveriges nationaldag', kind: 'public' },
    { date: addDaysToDate(midsummerDay, -1), name: 'Midsommarafton', kind: 'eve' },
    { date: midsummerDay, name: 'Midsommardagen', kind: 'public' },
    { date: weekdayOnOrAfter(year, 10, 31, 6), name: 'Alla helgons dag', kind: 'public' },
    { date: formatDate(year, 12, 24), name: 'Julafton', kind: 'eve' },
    { date: formatDate(year, 12, 25), name: 'Juldagen', kind: 'public' },
    { date: formatDate(year, 12, 26), name: 'Annandag jul', kind: 'public' },
    { date: formatDate(year, 12, 31), name: 'Nyårsafton', kind: 'eve' },
  ];
  list.sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
  cache.set(year, list);
  return list;
}

/** Holidays by date for a year (helper). */
function holidayMap(year: number): Map<string, Holiday> {
  return new Map(swedishHolidays(year).map((h) => [h.date, h]));
}

/** A non-working ("red") day: Saturday, Sunday, a public holiday or one of the eves. */
export function isNonWorkingDay(date: string): boolean {
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  if (dow === 0 || dow === 6) return true;
  return holidayMap(Number(date.slice(0, 4))).has(date);
}

export interface HolidayPeriod {
  /** First and last non-working date of the run (inclusive). */
  start: string;
  end: string;
  days: number;
  /** Holiday names within the run. */
  holidays: string[];
}

/**
 * Runs of consecutive non-working days between two dates (inclusive) that contain at least one holiday
 * and last at least `minDays` days — the "storhelger med många röda dagar i följd" of 001 §5.
 */
export function holidayPeriods(from: string, to: string, minDays = 3): HolidayPeriod[] {
  const out: HolidayPeriod[] = [];
  let run: string[] = [];
  const flush = (): void => {
    if (run.length >= minDays) {
      const names = run
        .map((d) => holidayMap(Number(d.slice(0, 4))).get(d)?.name)
        .filter((n): n is string => n !== undefined);
      if (names.length > 0) out.push({ start: run[0]!, end: run[run.length - 1]!, days: run.length, holidays: names });
    }
    run = [];
  };
  // Extend the scan so a run crossing `from`/`to` is seen whole.
  let d = addDaysToDate(from, -7);
  const last = addDaysToDate(to, 7);
  while (d <= last) {
    if (isNonWorkingDay(d)) run.push(d);
    else flush();
    d = addDaysToDate(d, 1);
  }
  flush();
  return out.filter((p) => p.end >= from && p.start <= to);
}

/** The first major holiday period that ends on or after `fromDate` (looks up to 400 days ahead). */
export function nextHolidayPeriod(fromDate: string, minDays = 3): HolidayPeriod | undefined {
  return holidayPeriods(fromDate, addDaysToDate(fromDate, 400), minDays)[0];
}

import { holidayPeriods, nextHolidayPeriod, type HolidayPeriod } from './swedish-holidays';
import { addDaysToDate, localDate } from './stockholm-time';

/** Anything with a deadline (a TaskSpec, a stored Task's summary). */
export interface HasDue {
  key: string;
  due?: string;
}

export interface HolidayDeadlines<T extends HasDue> {
  period: HolidayPeriod;
  /** Items whose deadline falls on a day of the period (Stockholm date), sorted by deadline. */
  due: T[];
}

/**
 * Which deadlines fall due over a major holiday: for every holiday period that overlaps
 * `[fromDate, fromDate + days]`, the items whose `due` (Stockholm date) lies within it. Deadlines keep
 * running on calendar days over holidays (001 §5): this is a report, nothing is moved.
 */
export function deadlinesOverHolidays<T extends HasDue>(
  items: readonly T[],
  fromDate: string,
  days: number,
  minDays = 3,
): HolidayDeadlines<T>[] {
  const periods = holidayPeriods(fromDate, addDaysToDate(fromDate, days), minDays);
  return periods.map((period) => ({
    period,
    due: items
      .filter((i) => {
        if (!i.due) return false;
        const d = localDate(Date.parse(i.due));
        return d >= period.start && d <= period.end;
      })
      .sort((a, b) => Date.parse(a.due!) - Date.parse(b.due!)),
  }));
}

/** "What falls due over the next major holiday": the next period from `fromDate` and the items due in it. */
export function deadlinesOverNextHoliday<T extends HasDue>(
  items: readonly T[],
  fromDate: string,
  minDays = 3,
): HolidayDeadlines<T> | undefined {
  const period = nextHolidayPeriod(fromDate, minDays);
  if (!period) return undefined;
  return deadlinesOverHolidays(items, period.start, 0, minDays).find((p) => p.period.start === period.start);
}

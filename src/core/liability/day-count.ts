import type { DayCount } from './payment-model';

/** Local calendar parts of an instant in a time zone (Intl; no clock, no I/O). */
export interface LocalParts {
  date: string; // YYYY-MM-DD
  month: string; // YYYY-MM
  time: string; // HH:MM:SS
  dayNumber: number; // days since 1970-01-01 of the local date
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const HOUR_MS = 3_600_000;
/** UTC offset (ms) per time zone and UTC hour: offsets change only on whole UTC hours in the zones we use. */
const offsets = new Map<string, Map<number, number>>();

function offsetMs(ms: number, timeZone: string): number {
  let byHour = offsets.get(timeZone);
  if (!byHour) offsets.set(timeZone, (byHour = new Map<number, number>()));
  const hour = Math.floor(ms / HOUR_MS);
  let off = byHour.get(hour);
  if (off === undefined) {
    const at = hour * HOUR_MS;
    const p: Record<string, string> = {};
    for (const part of formatter(timeZone).formatToParts(new Date(at))) p[part.type] = part.value;
    const local = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
    off = local - at;
    if (byHour.size > 200_000) byHour.clear();
    byHour.set(hour, off);
  }
  return off;
}

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

export function localParts(iso: string, timeZone: string): LocalParts {
  const ms = Date.parse(iso);
  const local = new Date(ms + offsetMs(ms, timeZone));
  const y = local.getUTCFullYear();
  const month = `${y}-${two(local.getUTCMonth() + 1)}`;
  return {
    date: `${month}-${two(local.getUTCDate())}`,
    month,
    time: `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`,
    dayNumber: Math.floor((ms + offsetMs(ms, timeZone)) / 86_400_000),
  };
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of the local date of an instant (`localParts(…).dayNumber` without the strings). */
export function localDayNumber(iso: string, timeZone: string): number {
  return localDayNumberAt(Date.parse(iso), timeZone);
}

/** `localDayNumber` of an instant given as epoch milliseconds. */
export function localDayNumberAt(ms: number, timeZone: string): number {
  return Math.floor((ms + offsetMs(ms, timeZone)) / DAY_MS);
}

/** `YYYY-MM` per local day number: the few thousand days a run meets, each formatted once. */
const monthOfDay = new Map<number, string>();

/** The local month of an instant (`localParts(…).month`), for loops over many instants. */
export function localMonth(iso: string, timeZone: string): string {
  return localMonthAt(Date.parse(iso), timeZone);
}

/** `localMonth` of an instant given as epoch milliseconds. */
export function localMonthAt(ms: number, timeZone: string): string {
  const day = localDayNumberAt(ms, timeZone);
  let month = monthOfDay.get(day);
  if (month === undefined) {
    const d = new Date(day * DAY_MS);
    month = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}`;
    if (monthOfDay.size > 100_000) monthOfDay.clear();
    monthOfDay.set(day, month);
  }
  return month;
}

/**
 * Days a stay remained after the ready notice, per the agreement's convention:
 * calendar days = discharge date − ready date (a notice after the cut-off counts from the next day);
 * elapsed-24h = whole 24 h blocks. Never negative.
 */
export function countDays(readyAt: string, dischargedAt: string, dc: DayCount): number {
  if (dc.unit === 'elapsed-24h') {
    return Math.max(0, Math.floor((Date.parse(dischargedAt) - Date.parse(readyAt)) / DAY_MS));
  }
  const ready = Date.parse(readyAt);
  const local = ready + offsetMs(ready, dc.timeZone);
  const readyDay = Math.floor(local / DAY_MS);
  // After the cut-off to the second (a local time of day later than HH:MM:00) counts from the next day.
  const late = dc.cutoff !== null && Math.floor((local - readyDay * DAY_MS) / 1000) > secondsOf(dc.cutoff) ? 1 : 0;
  return Math.max(0, localDayNumber(dischargedAt, dc.timeZone) - readyDay - late);
}

/** Seconds into the day of `HH:MM`. */
function secondsOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 3600 + Number(hhmm.slice(3, 5)) * 60;
}

/** The month before `YYYY-MM`. */
export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/**
 * Wall-clock arithmetic in Europe/Stockholm without a clock and without I/O. Sweden follows the EU rule
 * (since 1996): CET (UTC+1), summer time CEST (UTC+2) from the last Sunday of March 01:00 UTC to the last
 * Sunday of October 01:00 UTC. Instants are epoch milliseconds; calendar dates are `YYYY-MM-DD` strings.
 */

import { utcFields, type UtcFields } from './fast-iso';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Wall-clock fields in Stockholm (month 1–12). */
export type LocalParts = Omit<UtcFields, 'weekday'>;

/** Last Sunday of a month (1–12) at 01:00 UTC, as epoch ms. */
function lastSundayAt0100Utc(year: number, month: number): number {
  const lastDay = Date.UTC(year, month, 0); // day 0 of next month = last day of this month
  const dow = new Date(lastDay).getUTCDay();
  return lastDay - dow * DAY + HOUR;
}

const dstCache = new Map<number, [number, number]>();
function dstWindow(year: number): [number, number] {
  let w = dstCache.get(year);
  if (!w) {
    w = [lastSundayAt0100Utc(year, 3), lastSundayAt0100Utc(year, 10)];
    dstCache.set(year, w);
  }
  return w;
}

/** Offset of Stockholm local time from UTC at an instant, in ms (3 600 000 or 7 200 000). */
export function stockholmOffsetMs(utcMs: number): number {
  // The DST window of a year lies well inside it, so an approximate year is enough near the edges.
  const year = 1970 + Math.floor((utcMs + 15 * DAY) / (365.2425 * DAY));
  const [start, end] = dstWindow(year);
  return utcMs >= start && utcMs < end ? 2 * HOUR : HOUR;
}

export function toLocalParts(utcMs: number): LocalParts {
  const f = utcFields(utcMs + stockholmOffsetMs(utcMs));
  return { year: f.year, month: f.month, day: f.day, hour: f.hour, minute: f.minute, second: f.second, ms: f.ms };
}

/**
 * The instant of a Stockholm wall-clock time. Normalises overflowing fields (day 32 → next month).
 * A time in the spring gap (02:00–03:00 on the March switch) moves forward by the gap; an ambiguous time in
 * the autumn overlap takes the earlier instant (as Temporal's "compatible" disambiguation).
 */
export function fromLocal(p: LocalParts): number {
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.ms);
  const earlier = asUtc - 2 * HOUR; // candidate if CEST
  if (stockholmOffsetMs(earlier) === 2 * HOUR) return earlier;
  const later = asUtc - HOUR; // candidate if CET
  if (stockholmOffsetMs(later) === HOUR) return later;
  // In the spring gap: neither reading exists; move forward by the gap.
  return asUtc - HOUR;
}

/** The Stockholm calendar date of an instant, `YYYY-MM-DD`. */
export function localDate(utcMs: number): string {
  const p = toLocalParts(utcMs);
  return formatDate(p.year, p.month, p.day);
}

/** The Stockholm wall-clock time of an instant to the minute, `YYYY-MM-DD HH:MM` (say once that it is `SWEDISH_TIME`). */
export function localMinute(utcMs: number): string {
  const p = toLocalParts(utcMs);
  return `${formatDate(p.year, p.month, p.day)} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/**
 * What a text a person reads says once of its times (the SIP invitation, the printed plan, a Task's estimated
 * discharge): Swedish time to the minute.
 */
export const SWEDISH_TIME = 'svensk tid';

export function formatDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Start (00:00 local) of the Stockholm day containing the instant. */
export function startOfLocalDay(utcMs: number): number {
  const p = toLocalParts(utcMs);
  return fromLocal({ ...p, hour: 0, minute: 0, second: 0, ms: 0 });
}

/** The last millisecond of the Stockholm day containing the instant (the next local midnight − 1 ms). */
export function endOfLocalDay(utcMs: number): number {
  const p = toLocalParts(utcMs);
  return fromLocal({ year: p.year, month: p.month, day: p.day + 1, hour: 0, minute: 0, second: 0, ms: 0 }) - 1;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parse an ISO 8601 instant with offset (`2026-03-28T10:00:00+01:00`, `...Z`) or a date `YYYY-MM-DD`
 * (= the start of that day in Stockholm). Returns NaN when unparseable.
 */
export function parseInstant(s: string): number {
  const m = DATE_ONLY.exec(s);
  if (m) return fromLocal({ year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: 0, minute: 0, second: 0, ms: 0 });
  return Date.parse(s);
}

/** Days between two `YYYY-MM-DD` dates (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY);
}

/** A `YYYY-MM-DD` date plus n calendar days. */
export function addDaysToDate(date: string, n: number): string {
  const d = new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY);
  return formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

import { endOfLocalDay, fromLocal, toLocalParts } from './stockholm-time';

/** A parsed ISO 8601 duration. `sign` is −1 for a leading minus (`-PT4H`). */
export interface Duration {
  sign: 1 | -1;
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export type DurationKind = 'elapsed' | 'calendar-days' | 'end-of-day';

const RE =
  /^(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const cache = new Map<string, Duration>();

/** Parse `PT24H`, `P3D`, `P1M`, `PT30S`, `-PT4H`, `P0D`. Throws on anything else. */
export function parseDuration(iso: string): Duration {
  const hit = cache.get(iso);
  if (hit) return hit;
  const m = RE.exec(iso);
  if (!m) throw new Error(`not an ISO 8601 duration: "${iso}"`);
  const n = (i: number): number => (m[i] ? Number(m[i]) : 0);
  const d: Duration = {
    sign: m[1] ? -1 : 1,
    years: n(2),
    months: n(3),
    weeks: n(4),
    days: n(5),
    hours: n(6),
    minutes: n(7),
    seconds: n(8),
  };
  cache.set(iso, d);
  return d;
}

/** The time part (H/M/S) plus, for `elapsed`, days and weeks as 24 h units; in ms, signed. */
function elapsedMs(d: Duration, includeDays: boolean): number {
  const days = includeDays ? d.days + 7 * d.weeks : 0;
  return d.sign * (((days * 24 + d.hours) * 60 + d.minutes) * 60_000 + Math.round(d.seconds * 1000));
}

/**
 * Add a duration to an instant (epoch ms) in Europe/Stockholm.
 * - `elapsed`: exact elapsed time; days and weeks count as 24 h; years/months are not allowed.
 * - `calendar-days`: years, months, weeks and days move the local calendar date keeping the wall-clock time
 *   (so P1D over a DST switch is 23 or 25 h); the time part is then added as elapsed time.
 * - `end-of-day`: like `calendar-days`, then the end of that local day (P0D = the end of the same day).
 */
export function addDuration(fromMs: number, iso: string, kind: DurationKind): number {
  const d = parseDuration(iso);
  if (kind === 'elapsed') {
    if (d.years || d.months) throw new Error(`"${iso}": years and months have no fixed length; use calendar-days`);
    return fromMs + elapsedMs(d, true);
  }
  let t = fromMs;
  if (d.years || d.months || d.weeks || d.days) {
    const p = toLocalParts(fromMs);
    const months = p.month + d.sign * (d.years * 12 + d.months);
    const year = p.year + Math.floor((months - 1) / 12);
    const month = ((((months - 1) % 12) + 12) % 12) + 1;
    // Clamp the day to the target month's length (31 Jan + P1M = 28/29 Feb).
    const monthLen = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const day = Math.min(p.day, monthLen) + d.sign * (d.days + 7 * d.weeks);
    t = fromLocal({ ...p, year, month, day });
  }
  t += elapsedMs(d, false);
  return kind === 'end-of-day' ? endOfLocalDay(t) : t;
}

/** ISO string (UTC, `Z`) of `addDuration`. */
export function addDurationIso(fromIso: string, iso: string, kind: DurationKind): string {
  return new Date(addDuration(Date.parse(fromIso), iso, kind)).toISOString();
}

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

export function localParts(iso: string, timeZone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(iso))) parts[p.type] = p.value;
  const y = Number(parts.year);
  const m = Number(parts.month);
  const d = Number(parts.day);
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    month: `${parts.year}-${parts.month}`,
    time: `${parts.hour}:${parts.minute}:${parts.second}`,
    dayNumber: Date.UTC(y, m - 1, d) / 86_400_000,
  };
}

const DAY_MS = 86_400_000;

/**
 * Days a stay remained after the ready notice, per the agreement's convention:
 * calendar days = discharge date − ready date (a notice after the cut-off counts from the next day);
 * elapsed-24h = whole 24 h blocks. Never negative.
 */
export function countDays(readyAt: string, dischargedAt: string, dc: DayCount): number {
  if (dc.unit === 'elapsed-24h') {
    return Math.max(0, Math.floor((Date.parse(dischargedAt) - Date.parse(readyAt)) / DAY_MS));
  }
  const r = localParts(readyAt, dc.timeZone);
  const d = localParts(dischargedAt, dc.timeZone);
  const late = dc.cutoff !== null && r.time > `${dc.cutoff}:00` ? 1 : 0;
  return Math.max(0, d.dayNumber - r.dayNumber - late);
}

/** The month before `YYYY-MM`. */
export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

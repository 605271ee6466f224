/**
 * The region dashboard's series (pure): ready-for-discharge days per municipality and month, with the stays
 * behind each point for the drill-down, over a run of months ending with `to`.
 */
import { localMonth } from '../liability/day-count';
import { readyDays } from './compute-indicators';

export interface DashboardStay {
  stayId: string;
  municipality: string;
  readyAt: string;
  dischargedAt: string;
}

export interface MunicipalitySeries {
  municipality: string;
  /** Average ready days per month (null: no stay discharged that month). */
  readyDays: (number | null)[];
  stays: number[];
}

export function monthsEnding(to: string, count: number): string[] {
  const [y, m] = to.split('-').map(Number) as [number, number];
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

export function readyDaysSeries(months: readonly string[], stays: readonly DashboardStay[]): MunicipalitySeries[] {
  const index = new Map(months.map((m, i) => [m, i]));
  const sums = new Map<string, { days: number[]; n: number[] }>();
  for (const s of stays) {
    const i = index.get(localMonth(s.dischargedAt, 'Europe/Stockholm'));
    if (i === undefined) continue;
    let acc = sums.get(s.municipality);
    if (!acc) sums.set(s.municipality, (acc = { days: months.map(() => 0), n: months.map(() => 0) }));
    acc.days[i] = (acc.days[i] ?? 0) + readyDays(s.readyAt, s.dischargedAt);
    acc.n[i] = (acc.n[i] ?? 0) + 1;
  }
  return [...sums]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([municipality, acc]) => ({
      municipality,
      readyDays: acc.n.map((n, i) => (n === 0 ? null : Math.round(((acc.days[i] ?? 0) / n) * 100) / 100)),
      stays: acc.n,
    }));
}

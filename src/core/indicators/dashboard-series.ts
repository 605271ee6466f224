/**
 * The region dashboard's series (pure): ready-for-discharge days per municipality and month, with the stays
 * behind each point for the drill-down, over a run of months ending with `to`.
 */
import { localMonthAt } from '../liability/day-count';

/** A stay behind the chart; instants as epoch milliseconds (a region's year is a few hundred thousand of them). */
export interface DashboardStay {
  stayId: string;
  municipality: string;
  readyMs: number;
  dischargedMs: number;
}

const TZ = 'Europe/Stockholm';

/** The local month a stay's discharge falls in. */
export const dischargeMonth = (s: DashboardStay): string => localMonthAt(s.dischargedMs, TZ);

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

/** One point's sums: the stays of a municipality discharged in a month and their ready days. */
export interface ReadyDaysCell {
  municipality: string;
  month: string;
  days: number;
  stays: number;
}

/** Average ready days per municipality (in kommunkod order) and month of `months`; other months are left out. */
export function readyDaysSeries(months: readonly string[], cells: readonly ReadyDaysCell[]): MunicipalitySeries[] {
  const index = new Map(months.map((m, i) => [m, i]));
  const sums = new Map<string, { days: number[]; n: number[] }>();
  for (const c of cells) {
    const i = index.get(c.month);
    if (i === undefined) continue;
    let acc = sums.get(c.municipality);
    if (!acc) sums.set(c.municipality, (acc = { days: months.map(() => 0), n: months.map(() => 0) }));
    acc.days[i] = (acc.days[i] ?? 0) + c.days;
    acc.n[i] = (acc.n[i] ?? 0) + c.stays;
  }
  return [...sums]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([municipality, acc]) => ({
      municipality,
      readyDays: acc.n.map((n, i) => (n === 0 ? null : Math.round(((acc.days[i] ?? 0) / n) * 100) / 100)),
      stays: acc.n,
    }));
}

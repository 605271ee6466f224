/**
 * Which stays a run of months needs, found in one pass over `stay_fact` (in batches, in stay order): per stay its
 * facts' fingerprint and, per month, whether it has a discharge fact in the month's window (liability) and whether
 * it has a discharge or admission fact in the indicators' window. The windows are exactly the ones the per-month
 * reads used (UTC bounds with a day's margin; admissions up to 31 days after the month for re-admissions), so a
 * run reads the same stays as the months one by one, each once.
 */
import type { Db } from '../../store/db.port';

const DAY = 86_400_000;
/** Discharges before this (and after the first window) are the next-month model's history (2018 on). */
const HISTORY_FROM = Date.UTC(2018, 0, 1) - DAY;

export interface StayIndex {
  months: readonly string[];
  /** Stay ids in the database's order of `stay_id` (the order the per-month reads returned them in). */
  ids: string[];
  /**
   * Each stay's facts as a fingerprint's two numbers (facts are only ever added, so their count and the last one's
   * created_at change whenever they do): numbers, not the fingerprint's text, since a national year keeps 1.4 M of
   * them for the whole run (≈ 50 MB less heap). `factsFingerprint` gives the text the fold cache compares.
   */
  factCount: Int32Array;
  /** created_at of the stay's last fact, in microseconds since 1970 (exact in a double until the year 2255). */
  lastFactMicros: Float64Array;
  /** Bit i: a discharge fact in month i's window. */
  liability: Int32Array;
  /** Bit i: a discharge fact in month i's window, or an admission up to 31 days after it. */
  indicators: Int32Array;
  /** A discharge fact from 2018 up to the first month's window (the next-month model's earlier months). */
  history: Uint8Array;
}

export function monthStart(month: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return Date.UTC(y, m - 1, 1);
}

export function nextMonthStart(month: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return Date.UTC(y, m, 1);
}

/** Months in order, each following the one before (the next-month model carries its state along them). */
export function checkMonths(months: readonly string[]): void {
  if (months.length === 0 || months.length > 31) throw new Error('between 1 and 31 months');
  for (let i = 1; i < months.length; i++) {
    if (monthStart(months[i] ?? '') !== nextMonthStart(months[i - 1] ?? '')) {
      throw new Error(`months must follow each other: ${months[i - 1]} then ${months[i]}`);
    }
  }
}

interface Row {
  stay_id: string;
  n: number;
  last: number;
  ev: string[] | null;
}

/**
 * The fingerprint of the facts of the stay at `rank`, as the fold cache keeps it: `<count>/<epoch seconds of the
 * last created_at with six decimals>` (PostgreSQL's `extract(epoch …)::text`).
 */
export function factsFingerprint(index: StayIndex, rank: number): string {
  const micros = index.lastFactMicros[rank] ?? 0;
  const seconds = Math.floor(micros / 1_000_000);
  return `${index.factCount[rank] ?? 0}/${seconds}.${String(micros - seconds * 1_000_000).padStart(6, '0')}`;
}

export async function indexStays(db: Db, months: readonly string[], batch = 50_000): Promise<StayIndex> {
  checkMonths(months);
  const lo = months.map((m) => monthStart(m) - DAY);
  const hi = months.map((m) => nextMonthStart(m) + DAY);
  const firstWindow = lo[0] ?? 0;
  const ids: string[] = [];
  const factCount: number[] = [];
  const lastFactMicros: number[] = [];
  const liability: number[] = [];
  const indicators: number[] = [];
  const history: number[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { rows: Row[] } = await db.query<Row>(
      `SELECT stay_id, count(*)::int AS n, (extract(epoch FROM max(created_at)) * 1000000)::float8 AS last,
         array_agg(kind || ' ' || floor(extract(epoch FROM at) * 1000)::bigint::text)
           FILTER (WHERE kind IN ('admitted', 'discharged')) AS ev
       FROM stay_fact WHERE ($1::text IS NULL OR stay_id > $1)
       GROUP BY stay_id ORDER BY stay_id LIMIT ${batch}`,
      [after],
    );
    for (const row of r.rows) {
      let l = 0;
      let ind = 0;
      let h = 0;
      for (const e of row.ev ?? []) {
        const space = e.indexOf(' ');
        const discharged = e.slice(0, space) === 'discharged';
        const at = Number(e.slice(space + 1));
        for (let i = 0; i < lo.length; i++) {
          const from = lo[i] ?? 0;
          const to = hi[i] ?? 0;
          if (discharged && at >= from && at < to) {
            l |= 1 << i;
            ind |= 1 << i;
          } else if (!discharged && at >= from && at < to + 31 * DAY) ind |= 1 << i;
        }
        if (discharged && at >= HISTORY_FROM && at < firstWindow) h = 1;
      }
      if (l !== 0 || ind !== 0 || h !== 0) {
        ids.push(row.stay_id);
        factCount.push(row.n);
        lastFactMicros.push(row.last);
        liability.push(l);
        indicators.push(ind);
        history.push(h);
      }
    }
    if (r.rows.length < batch) break;
    after = r.rows[r.rows.length - 1]?.stay_id ?? null;
  }
  return {
    months,
    ids,
    factCount: Int32Array.from(factCount),
    lastFactMicros: Float64Array.from(lastFactMicros),
    liability: Int32Array.from(liability),
    indicators: Int32Array.from(indicators),
    history: Uint8Array.from(history),
  };
}

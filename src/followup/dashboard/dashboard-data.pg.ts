/**
 * What the region dashboard shows, read from the store in a few aggregate queries: the open Tasks per party by
 * state (deadline_task), the ready days of the stays discharged in the months shown (summed from the stays'
 * summaries, `stay_summary`), and the deviations per month (fired by the deadline ladder or reported by a party).
 * Optionally limited to one municipality (its own view: its Organization's open Tasks, the deviations it holds a
 * copy of).
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import { readyDaysAt } from '../../core/indicators/compute-indicators';
import {
  dischargeMonth,
  monthsEnding,
  readyDaysSeries,
  type DashboardStay,
  type ReadyDaysCell,
} from '../../core/indicators/dashboard-series';
import { deviationsPerMonth, localMonthWindow } from '../../core/indicators/deviations';
import { gatedCriteria } from '../../core/engine/fold-stay';
import { deviationsBetween } from '../deviations/deviation-rows.pg';
import { CRITERION_COLUMN } from '../../store/stay-summary';
import type { Db } from '../../store/db.port';

const DAY = 86_400_000;

function window(months: string[]): { from: string; to: string } {
  const [fy, fm] = (months[0] ?? '').split('-').map(Number) as [number, number];
  const [ty, tm] = (months.at(-1) ?? '').split('-').map(Number) as [number, number];
  return {
    from: new Date(Date.UTC(fy, fm - 1, 1) - DAY).toISOString(),
    to: new Date(Date.UTC(ty, tm, 1) + DAY).toISOString(),
  };
}

/**
 * When a stay was ready under the agreement, as the engine has it (src/core/engine/fold-stay.ts): at the first ready
 * notice after the last withdrawal (a second notice while one stands changes nothing), or, when the agreement's
 * readiness gate waits for criteria (Västmanland, 001 §3), at the later of the notice and the first report of the
 * last criterion it waits for (migration 152); NULL while one is missing. A discharge before that criterion drops
 * the held notice, even one an A13 cancels later: then only a notice after that A13 counts (migration 155). Criteria
 * alone, without a notice (the physician's assessment), are no ready time.
 */
function readyTime(agreement: Agreement): string {
  const gate = gatedCriteria(agreement).map((c) => CRITERION_COLUMN[c]);
  if (gate.length === 0) return 'ready_at';
  const met = `GREATEST(${gate.join(', ')})`;
  return `CASE WHEN ready_at IS NOT NULL AND ${gate.map((col) => `${col} IS NOT NULL`).join(' AND ')} THEN
    CASE WHEN ready_discharged_at IS NULL OR ready_discharged_at >= ${met} THEN GREATEST(ready_at, ${met})
      WHEN ready_again_at IS NOT NULL THEN GREATEST(ready_again_at, ${met}) END END`;
}

/**
 * Stays discharged in the window with an active ready notice (the first notice after the last withdrawal) that went out
 * at or before the discharge (a notice the gate held back until after the discharge never went out: the discharge
 * drops it). As the engine has it, a stay whose admission was cancelled (A11) never happened, and a death at or
 * before the discharge replaces it (a death after it is outside the stay): neither is a discharge (migration 151).
 * `ready` is `readyTime`, computed in the query's FROM.
 */
const ACTIVE_READY = `discharged_at >= $1 AND discharged_at < $2 AND ready IS NOT NULL
  AND admission_cancelled_at IS NULL AND (died_at IS NULL OR died_at > discharged_at)
  AND (withdrawn_at IS NULL OR withdrawn_at < ready_at) AND discharged_at >= ready
  AND municipality IS NOT NULL AND municipality <> ''`;

/** The stay summaries with their ready time under the agreement (`ready`). */
const summaries = (agreement: Agreement): string =>
  `(SELECT stay_summary.*, ${readyTime(agreement)} AS ready FROM stay_summary) ss`;

/**
 * The chart's sums per municipality and local month of discharge, from the stays' summaries that intake keeps
 * (`stay_summary`, migrations 130, 150, 151, 152, 155) and summed in the database: a region's year is 300 000 stays, where
 * aggregating every fact of the year took seconds and sending every stay took half a second. Ready days as `readyDaysAt`:
 * local calendar days in Europe/Stockholm, never negative (test/followup/dashboard-data.test.ts holds them equal).
 */
async function readyDaysCellsOf(
  db: Db,
  agreement: Agreement,
  w: { from: string; to: string },
  municipality?: string,
): Promise<ReadyDaysCell[]> {
  const local = (col: string) => `(${col} AT TIME ZONE 'Europe/Stockholm')`;
  // Grouped by the local month as a timestamp (formatted once per group), so PostgreSQL can hash the groups.
  const r = await db.query<ReadyDaysCell>(
    `SELECT municipality, to_char(m, 'YYYY-MM') AS month, sum(d)::int AS days, count(*)::int AS stays FROM (
       SELECT municipality, date_trunc('month', ${local('discharged_at')}) AS m,
         GREATEST(0, ${local('discharged_at')}::date - ${local('ready')}::date) AS d
       FROM ${summaries(agreement)} WHERE ${ACTIVE_READY} AND ($3::text IS NULL OR municipality = $3)) s
     GROUP BY municipality, m`,
    [w.from, w.to, municipality ?? null],
  );
  return r.rows;
}

/** The stays behind the chart (the drill-down: one municipality's month). */
async function dischargedStays(
  db: Db,
  agreement: Agreement,
  w: { from: string; to: string },
  municipality: string,
): Promise<DashboardStay[]> {
  const r = await db.query<{ stay_id: string; discharged: number; ready: number; municipality: string }>(
    `SELECT stay_id, floor(extract(epoch FROM discharged_at) * 1000)::float8 AS discharged,
       floor(extract(epoch FROM ready) * 1000)::float8 AS ready, municipality FROM ${summaries(agreement)}
     WHERE ${ACTIVE_READY} AND municipality = $3`,
    [w.from, w.to, municipality],
  );
  return r.rows.map((x) => ({
    stayId: x.stay_id,
    municipality: x.municipality,
    readyMs: Number(x.ready),
    dischargedMs: Number(x.discharged),
  }));
}

/** Open Tasks per owner by business status; `owners` limits to a tenant's own organisations. */
async function openTasks(db: Db, owners?: readonly string[]) {
  const r = await db.query<{ owner: string; status: string | null; n: string | number }>(
    `SELECT owner, COALESCE(business_status, 'on-time') AS status, COUNT(*) AS n FROM deadline_task
     WHERE open AND owner IS NOT NULL AND ($1::text[] IS NULL OR owner = ANY($1::text[]))
     GROUP BY owner, COALESCE(business_status, 'on-time') ORDER BY owner`,
    [owners ? [...owners] : null],
  );
  const out = new Map<string, Record<string, number>>();
  for (const row of r.rows) {
    const o = out.get(row.owner) ?? { 'on-time': 0, 'due-soon': 0, overdue: 0, escalated: 0 };
    o[row.status ?? 'on-time'] = Number(row.n);
    out.set(row.owner, o);
  }
  return [...out].map(([owner, counts]) => ({ owner, ...counts }));
}

/** The deviations per month (src/core/indicators/deviations.ts: the same the deviation list and the indicators count). */
async function deviationCounts(db: Db, months: string[], owners?: readonly string[]): Promise<number[]> {
  const from = localMonthWindow(months[0] ?? '').from;
  const to = localMonthWindow(months.at(-1) ?? '').to;
  return deviationsPerMonth(months, await deviationsBetween(db, from, to, owners));
}

export interface DashboardScope {
  /** One municipality's own view: its kommunkod and its Organization references. */
  municipality?: string;
  owners?: readonly string[];
}

/** The dashboard of the months up to `to`, under the agreement in force (its readiness gate decides the ready time). */
export async function dashboardData(
  db: Db,
  agreement: Agreement,
  to: string,
  count: number,
  scope: DashboardScope = {},
) {
  const months = monthsEnding(to, count);
  const w = window(months);
  const [cells, parties, deviations] = await Promise.all([
    readyDaysCellsOf(db, agreement, w, scope.municipality),
    openTasks(db, scope.owners),
    deviationCounts(db, months, scope.owners),
  ]);
  return { months, readyDays: readyDaysSeries(months, cells), parties, deviations };
}

/** The drill-down: the stays behind one point (a municipality's month), with their ready days. */
export async function dashboardStays(db: Db, agreement: Agreement, municipality: string, month: string) {
  const w = window([month]);
  const stays = await dischargedStays(db, agreement, w, municipality);
  return stays
    .filter((s) => dischargeMonth(s) === month)
    .map((s) => ({
      stayId: s.stayId,
      municipality: s.municipality,
      readyAt: new Date(s.readyMs).toISOString(),
      dischargedAt: new Date(s.dischargedMs).toISOString(),
      readyDays: readyDaysAt(s.readyMs, s.dischargedMs),
    }))
    .sort((a, b) => b.readyDays - a.readyDays || a.stayId.localeCompare(b.stayId));
}

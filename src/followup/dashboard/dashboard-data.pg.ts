/**
 * What the region dashboard shows, read from the store in a few aggregate queries: the open Tasks per party by
 * state (deadline_task), the stays discharged in the months shown (ready time from their facts), and the
 * deviations raised per month (deadline_step). Optionally limited to one municipality (its own view).
 */
import { monthsEnding, readyDaysSeries, type DashboardStay } from '../../core/indicators/dashboard-series';
import { readyDays } from '../../core/indicators/compute-indicators';
import { localMonth } from '../../core/liability/day-count';
import { DEVIATION_REPORT_SYSTEM } from '../deviations/deviation-report';
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

/** Stays discharged in the window with an active ready notice (the last notice not withdrawn after it). */
async function dischargedStays(
  db: Db,
  w: { from: string; to: string },
  municipality?: string,
): Promise<DashboardStay[]> {
  const r = await db.query<{
    stay_id: string;
    discharged: Date | string;
    ready: Date | string;
    municipality: string | null;
  }>(
    `WITH s AS (
       SELECT stay_id,
         MAX(at) FILTER (WHERE kind = 'discharged') AS discharged,
         MAX(at) FILTER (WHERE kind = 'ready-for-discharge') AS ready,
         MAX(at) FILTER (WHERE kind = 'ready-withdrawn') AS withdrawn,
         (ARRAY_AGG(COALESCE(body -> 'patient' ->> 'placingMunicipality', body -> 'patient' ->> 'municipality') ORDER BY at DESC)
           FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1] AS municipality
       FROM stay_fact
       WHERE stay_id IN (SELECT stay_id FROM stay_fact WHERE kind = 'discharged' AND at >= $1 AND at < $2)
       GROUP BY stay_id)
     SELECT stay_id, discharged, ready, municipality FROM s
     WHERE ready IS NOT NULL AND (withdrawn IS NULL OR withdrawn < ready) AND discharged >= ready
       AND ($3::text IS NULL OR municipality = $3)`,
    [w.from, w.to, municipality ?? null],
  );
  return r.rows
    .filter((x) => x.municipality)
    .map((x) => ({
      stayId: x.stay_id,
      municipality: x.municipality ?? '',
      readyAt: new Date(x.ready).toISOString(),
      dischargedAt: new Date(x.discharged).toISOString(),
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

async function deviationsPerMonth(
  db: Db,
  months: string[],
  w: { from: string; to: string },
  owners?: readonly string[],
) {
  const r = await db.query<{ at: Date | string }>(
    `SELECT s.fired_at AS at FROM deadline_step s JOIN deadline_task t ON t.task_id = s.task_id
     WHERE s.kind = 'deviation' AND s.fired_at >= $1 AND s.fired_at < $2
       AND ($3::text[] IS NULL OR t.owner = ANY($3::text[]))`,
    [w.from, w.to, owners ? [...owners] : null],
  );
  // Deviations reported by people ($report-deviation): one per report (its copies share groupIdentifier); a
  // municipality's view counts those it has a copy of.
  const m = await db.query<{ report: string; at: string }>(
    `SELECT DISTINCT c.content::jsonb -> 'groupIdentifier' ->> 'value' AS report, c.content::jsonb ->> 'authoredOn' AS at
     FROM fhir_resource c
     WHERE c.resource_type = 'Task' AND NOT c.deleted
       AND c.id IN (SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'code' AND value = 'avvikelse')
       AND c.content::jsonb -> 'groupIdentifier' ->> 'system' = $1
       AND ($2::text[] IS NULL OR c.content::jsonb -> 'owner' ->> 'reference' = ANY($2::text[]))`,
    [DEVIATION_REPORT_SYSTEM, owners ? [...owners] : null],
  );
  const counts = months.map(() => 0);
  const reports = new Set<string>();
  const at = [...r.rows.map((row) => new Date(row.at).toISOString())];
  for (const row of m.rows) {
    if (reports.has(row.report) || !row.at) continue;
    reports.add(row.report);
    const t = Date.parse(row.at);
    if (t >= Date.parse(w.from) && t < Date.parse(w.to)) at.push(new Date(t).toISOString());
  }
  for (const x of at) {
    const i = months.indexOf(localMonth(x, 'Europe/Stockholm'));
    if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

export interface DashboardScope {
  /** One municipality's own view: its kommunkod and its Organization references. */
  municipality?: string;
  owners?: readonly string[];
}

export async function dashboardData(db: Db, to: string, count: number, scope: DashboardScope = {}) {
  const months = monthsEnding(to, count);
  const w = window(months);
  const [stays, parties, deviations] = await Promise.all([
    dischargedStays(db, w, scope.municipality),
    openTasks(db, scope.owners),
    deviationsPerMonth(db, months, w, scope.owners),
  ]);
  return { months, readyDays: readyDaysSeries(months, stays), parties, deviations };
}

/** The drill-down: the stays behind one point (a municipality's month), with their ready days. */
export async function dashboardStays(db: Db, municipality: string, month: string) {
  const w = window([month]);
  const stays = await dischargedStays(db, w, municipality);
  return stays
    .filter((s) => localMonth(s.dischargedAt, 'Europe/Stockholm') === month)
    .map((s) => ({ ...s, readyDays: readyDays(s.readyAt, s.dischargedAt) }))
    .sort((a, b) => b.readyDays - a.readyDays || a.stayId.localeCompare(b.stayId));
}

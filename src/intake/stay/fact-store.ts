import type { StayFact } from '../../core/stay/facts';
import type { StayState } from '../../core/engine/types';
import { KEYED_LOOKUP_PLAN, withPlannerSettings, type Db } from '../../store/db.port';
import { genericArrayParam } from '../../store/packed-array';
import type { GatedCriterion } from '../../core/engine/fold-stay';
import { CRITERION_COLUMN, criterionReports } from '../../store/stay-summary';
import { addStayRow, tasksOfStaysSql, type StayRow } from './stay-rows.pg';

/** The facts to insert, first of each fact id only (as when inserting them one by one). */
function uniqueFacts(facts: readonly StayFact[]): StayFact[] {
  const seen = new Set<string>();
  return facts.filter((f) => !seen.has(f.id) && seen.add(f.id));
}

/**
 * Keeps the dashboard's `stay_summary` (migrations 130, 150, 151, 152, 155) for the stays that got a fact it reads,
 * from the new rows alone: each column moves forward only (a later discharge, cancellation of a discharge or
 * withdrawal; the municipality of a later admission or patient update), except `discharged_at`, the discharge in
 * force: the last discharge when it is later than the last cancellation (A13), else NULL (a discharge this batch
 * cancels itself can never be later than the cancellations, so the batch's own discharge in force suffices), and
 * the cancellation of the admission (A11) and the death, which keep the first (the first of each ends the stay), and
 * each readiness criterion, which keeps when it was first reported met (`CRITERION_COLUMN`, `criterionReports`;
 * the information transfer reported for some units only, and the named care contact and the information transfer of a
 * stay a re-routing dropped them for, are the engine's to time: `storeCriteriaByEngine`). The ready episode
 * (`ready_at`, the first notice after the last withdrawal, as the engine keeps it;
 * `ready_discharged_at`, `ready_again_at`) cannot be kept from the new rows alone (a late withdrawal makes a later
 * notice the first): for a stay whose batch brings a notice, withdrawal, discharge or A13 it is made again by
 * `svu_ready_episode` from those facts of the stay, stored and new (`EPISODE`). `svu_rebuild_stay_summary()`
 * computes the same from every fact.
 */
const DISCHARGED = `max(at) FILTER (WHERE kind = 'discharged')`;
const CANCELLED = `max(at) FILTER (WHERE kind = 'discharge-cancelled')`;
const LAST_DISCHARGE = 'GREATEST(s.discharged_at, excluded.discharged_at)';
const LAST_CANCEL = 'GREATEST(s.discharge_cancelled_at, excluded.discharge_cancelled_at)';
const CRITERIA = Object.entries(CRITERION_COLUMN) as [GatedCriterion, string][];
const EPISODE_KIND_LIST: readonly string[] = [
  'ready-for-discharge',
  'ready-withdrawn',
  'discharged',
  'discharge-cancelled',
];
const EPISODE_KINDS = `(${EPISODE_KIND_LIST.map((k) => `'${k}'`).join(', ')})`;
/** The ready episode of each stay whose new rows hold a fact it depends on, from its stored and new such facts. */
const EPISODE = `SELECT t.stay_id, e.* FROM (SELECT DISTINCT stay_id FROM ins WHERE kind IN ${EPISODE_KINDS}) t
  CROSS JOIN LATERAL (
    SELECT array_agg(x.kind) AS kinds, array_agg(x.at) AS ats FROM (
      SELECT f.kind, f.at FROM stay_fact f WHERE f.stay_id = t.stay_id AND f.kind IN ${EPISODE_KINDS}
      UNION ALL SELECT i.kind, i.at FROM ins i WHERE i.stay_id = t.stay_id AND i.kind IN ${EPISODE_KINDS}) x
  ) a
  CROSS JOIN LATERAL svu_ready_episode(a.kinds, a.ats) e`;
/**
 * The stay's municipality (migration 170): the placing municipality given last (a JSON null: withdrawn, none), else
 * the municipality of registration named last; each from the latest fact that gives it, as the engine keeps them.
 */
const NAMES_REGISTERED = `kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL`;
const GIVES_PLACING = `kind IN ('admitted', 'patient-updated') AND body -> 'patient' ? 'placingMunicipality'`;
const LATEST_REGISTERED = `(array_agg(body -> 'patient' ->> 'municipality' ORDER BY at DESC)
      FILTER (WHERE ${NAMES_REGISTERED}))[1]`;
const LATEST_PLACING = `(array_agg(body -> 'patient' ->> 'placingMunicipality' ORDER BY at DESC)
      FILTER (WHERE ${GIVES_PLACING}))[1]`;
/** The stored value, or the batch's when the batch gives it at or after the stored one's time. */
const newer = (col: string, at: string): string => `CASE WHEN excluded.${at} IS NOT NULL
      AND (s.${at} IS NULL OR excluded.${at} >= s.${at}) THEN excluded.${col} ELSE s.${col} END`;
const NEXT_REGISTERED = newer('registered_municipality', 'municipality_at');
const NEXT_PLACING = newer('placing_municipality', 'placing_at');
/** The batch brought a fact the ready episode depends on (each such kind sets one of these). */
const EPISODE_MADE = `excluded.ready_at IS NOT NULL OR excluded.withdrawn_at IS NOT NULL
      OR excluded.discharged_at IS NOT NULL OR excluded.discharge_cancelled_at IS NOT NULL`;
const episodeColumn = (col: string) => `${col} = CASE WHEN ${EPISODE_MADE} THEN excluded.${col} ELSE s.${col} END`;
/**
 * The summary upsert; `episode`: the batch holds a fact the ready episode depends on, so the statement joins the
 * `episode` CTE. Without one (most batches: an admission, an estimate, a patient update) the ready columns stay as
 * they are and the statement leaves the CTE out: joined on every batch, it cost ≈ 0.4 ms of PostgreSQL CPU per FHIR
 * admission (`api` bench, 2026-12-06: 5–10 % of the throughput).
 */
const summaryUpsertText = (episode: boolean): string => `INSERT INTO stay_summary AS s
    (stay_id, discharged_at, discharge_cancelled_at, ready_at, ready_discharged_at, ready_again_at, withdrawn_at,
     municipality, municipality_at, registered_municipality, placing_municipality, placing_at,
     admission_cancelled_at, died_at, ${CRITERIA.map(([, col]) => col).join(', ')})
  SELECT stay_id,
    CASE WHEN ${CANCELLED} IS NULL OR ${DISCHARGED} > ${CANCELLED} THEN ${DISCHARGED} END,
    ${CANCELLED},
    ${episode ? 'min(e.ready_at), min(e.ready_discharged_at), min(e.ready_again_at)' : 'NULL::timestamptz, NULL::timestamptz, NULL::timestamptz'},
    max(at) FILTER (WHERE kind = 'ready-withdrawn'),
    COALESCE(${LATEST_PLACING}, ${LATEST_REGISTERED}),
    max(at) FILTER (WHERE ${NAMES_REGISTERED}),
    ${LATEST_REGISTERED},
    ${LATEST_PLACING},
    max(at) FILTER (WHERE ${GIVES_PLACING}),
    min(at) FILTER (WHERE kind = 'admission-cancelled'),
    min(at) FILTER (WHERE kind = 'died'),
    ${CRITERIA.map(([c]) => `min(at) FILTER (WHERE ${criterionReports(c)})`).join(', ')}
  FROM ins${episode ? ' LEFT JOIN episode e USING (stay_id)' : ''}
  WHERE kind IN ('discharged', 'discharge-cancelled', 'ready-for-discharge', 'ready-withdrawn', 'admitted',
    'patient-updated', 'admission-cancelled', 'died', 'readiness-criteria-met')
  GROUP BY stay_id
  ON CONFLICT (stay_id) DO UPDATE SET
    discharged_at = CASE WHEN ${LAST_CANCEL} IS NULL OR ${LAST_DISCHARGE} > ${LAST_CANCEL} THEN ${LAST_DISCHARGE} END,
    discharge_cancelled_at = ${LAST_CANCEL},
    ${['ready_at', 'ready_discharged_at', 'ready_again_at'].map(episodeColumn).join(',\n    ')},
    withdrawn_at = GREATEST(s.withdrawn_at, excluded.withdrawn_at),
    municipality = COALESCE(${NEXT_PLACING}, ${NEXT_REGISTERED}),
    municipality_at = GREATEST(s.municipality_at, excluded.municipality_at),
    registered_municipality = ${NEXT_REGISTERED},
    placing_municipality = ${NEXT_PLACING},
    placing_at = GREATEST(s.placing_at, excluded.placing_at),
    admission_cancelled_at = LEAST(s.admission_cancelled_at, excluded.admission_cancelled_at),
    died_at = LEAST(s.died_at, excluded.died_at),
    ${CRITERIA.map(([, col]) => `${col} = LEAST(s.${col}, excluded.${col})`).join(', ')}`;
/** Both texts made once: built per admission, they were 0.4 % of the API's CPU per Bundle (2026-12-07). */
const SUMMARY_UPSERT = [summaryUpsertText(false), summaryUpsertText(true)] as const;
const summaryUpsert = (episode: boolean): string => SUMMARY_UPSERT[episode ? 1 : 0];

/**
 * A CTE `ins` inserting the facts (parameters added to `params`) and returning the new rows, and `summary` keeping
 * their stays' summary. Every array is hidden from the planner (`genericArrayParam`): visible, PostgreSQL planned the
 * statement again on every call, 0.25 ms per admission, more than the insert's own execution (pg_stat_statements,
 * `api` bench, 2026-12-05).
 */
function insertFacts(params: unknown[], facts: readonly StayFact[], source: string): string {
  const cols = [
    genericArrayParam(
      params,
      facts.map((f) => f.id),
      'text',
    ),
    genericArrayParam(
      params,
      facts.map((f) => f.stayId),
      'text',
    ),
    genericArrayParam(
      params,
      facts.map((f) => f.kind),
      'text',
    ),
    genericArrayParam(
      params,
      facts.map((f) => f.at),
      'timestamptz',
    ),
    genericArrayParam(
      params,
      facts.map((f) => JSON.stringify(f)),
      'jsonb',
      { json: true },
    ),
    genericArrayParam(
      params,
      facts.map(() => source),
      'text',
    ),
  ];
  const episode = facts.some((f) => EPISODE_KIND_LIST.includes(f.kind));
  // Each new fact's body records the order it was recorded in (`recorded`, migration 165), in the batch's order.
  return `WITH ins AS (
  INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source)
  SELECT f.id, f.stay, f.kind, f.at, f.body || jsonb_build_object('recorded', nextval('stay_fact_recorded')), f.source
  FROM unnest(${cols.join(', ')}) WITH ORDINALITY AS f(id, stay, kind, at, body, source, n)
  ORDER BY f.n
  ON CONFLICT (fact_id) DO NOTHING
  RETURNING fact_id, stay_id, kind, at, body
)${
    episode
      ? `, episode AS (
  ${EPISODE}
)`
      : ''
  }, summary AS (
  ${summaryUpsert(episode)}
)`;
}

/** What `storeAndLoadFactsOfStays` found: per stay every fact and how many were new, and the Tasks asked for. */
export interface StayFactsLoaded {
  facts: Map<string, { added: number; all: StayFact[] }>;
  /** The current Tasks of the stays in `tasksOf`, by stay id (no entry for a stay without Tasks). */
  tasks: Map<string, StayRow[]>;
  /** The stays whose summary holds the engine's times of criteria 3 and 4 (`storeCriteriaByEngine`). */
  criteriaByEngine: Set<string>;
}

/**
 * Stores facts (a fact id seen before is ignored), loads every fact of several stays and the current Tasks of the
 * stays in `tasksOf`, in one round trip: the new rows come from the INSERT's RETURNING (a statement does not see
 * its own inserts), the earlier ones from the table. Call it after the stays' locks (a separate statement, so this
 * statement's snapshot sees everything committed before they were granted). Facts come ordered by time. Every table
 * is read by a key, so on PostgreSQL the statement runs with `KEYED_LOOKUP_PLAN`: its generic plan made while
 * `stay_fact` was small read the whole table on every call (8 672 facts for one stay in the `api` bench).
 */
export async function storeAndLoadFactsOfStays(
  tx: Db,
  stayIds: readonly string[],
  facts: readonly StayFact[],
  source: 'hl7' | 'fhir',
  tasksOf: readonly string[] = [],
): Promise<StayFactsLoaded> {
  const unique = uniqueFacts(facts);
  const ids = [...new Set([...stayIds, ...unique.map((f) => f.stayId)])];
  const params: unknown[] = [];
  const insert = insertFacts(params, unique, source);
  const stays = genericArrayParam(params, ids, 'text');
  const taskStays = genericArrayParam(params, tasksOf, 'text');
  const r = await withPlannerSettings(tx, KEYED_LOOKUP_PLAN, () =>
    tx.query<{
      kind: 'F' | 'T' | 'M';
      k: string;
      id: string;
      version_id: number | null;
      content: string;
      added: boolean;
    }>(
      `${insert}, task AS (${tasksOfStaysSql(taskStays)})
     SELECT 'F' AS kind, stay_id AS k, fact_id AS id, NULL::int AS version_id, body::text AS content, added, at FROM (
       SELECT stay_id, body, at, fact_id, false AS added FROM stay_fact WHERE stay_id = ANY(${stays})
       UNION ALL
       SELECT stay_id, body, at, fact_id, true AS added FROM ins
     ) f
     UNION ALL
     SELECT 'T', k, id, version_id, content, false, NULL FROM task
     UNION ALL
     SELECT 'M', stay_id, '', NULL, NULL, false, NULL FROM stay_summary
     WHERE stay_id = ANY(${stays}) AND criteria_by_engine
     ORDER BY kind, k, at, id`,
      params,
    ),
  );
  const out: StayFactsLoaded = {
    facts: new Map(ids.map((id) => [id, { added: 0, all: [] as StayFact[] }])),
    tasks: new Map(),
    criteriaByEngine: new Set(),
  };
  for (const row of r.rows) {
    if (row.kind === 'M') {
      out.criteriaByEngine.add(row.k);
      continue;
    }
    if (row.kind === 'T') {
      addStayRow(out.tasks, row);
      continue;
    }
    const s = out.facts.get(row.k);
    if (!s) continue;
    s.all.push(JSON.parse(row.content) as StayFact);
    if (row.added) s.added++;
  }
  return out;
}

/** `storeAndLoadFactsOfStays` for one stay. */
export async function storeAndLoadFacts(
  tx: Db,
  stayId: string,
  facts: readonly StayFact[],
  source: 'hl7' | 'fhir',
): Promise<{ added: number; all: StayFact[] }> {
  const byStay = (await storeAndLoadFactsOfStays(tx, [stayId], facts, source)).facts;
  const added = [...byStay.values()].reduce((n, s) => n + s.added, 0);
  return { added, all: byStay.get(stayId)?.all ?? [] };
}

/**
 * The summary's `fvk_appointed_at` and `information_transferred_at` of the stays whose readiness criterion 3 or 4 a
 * re-routing dropped (`StayState.criteriaDropped`) or whose information transfer was reported for some units only
 * (`isTransferToSomeUnits`): since when the engine has had each met for the stay's ready time
 * (`StayState.fvkAppointedAt`, `StayState.informationTransferredAt`, NULL while it is not), which `criterionReports`
 * cannot tell; the row is marked so the rebuild keeps them (`criteria_by_engine`, migration 176). A marked stay that
 * no longer has either (late facts, dated earlier, showed the re-routing came before the report) is given the
 * engine's times, which are then the reports' as `criterionReports` counts them, and unmarked (`byEngine` false).
 * In the apply's transaction, after its facts.
 */
export async function storeCriteriaByEngine(
  tx: Db,
  stays: readonly {
    stayId: string;
    state: Pick<StayState, 'fvkAppointedAt' | 'informationTransferredAt'>;
    byEngine: boolean;
  }[],
): Promise<void> {
  if (stays.length === 0) return;
  await tx.query(
    `UPDATE stay_summary s SET fvk_appointed_at = u.fvk::timestamptz,
       information_transferred_at = u.transferred::timestamptz, criteria_by_engine = u.by_engine
     FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[]) AS u(stay_id, fvk, transferred, by_engine)
     WHERE s.stay_id = u.stay_id AND (s.criteria_by_engine IS DISTINCT FROM u.by_engine
       OR s.fvk_appointed_at IS DISTINCT FROM u.fvk::timestamptz
       OR s.information_transferred_at IS DISTINCT FROM u.transferred::timestamptz)`,
    [
      stays.map((s) => s.stayId),
      stays.map((s) => s.state.fvkAppointedAt ?? null),
      stays.map((s) => s.state.informationTransferredAt ?? null),
      stays.map((s) => s.byEngine),
    ],
  );
}

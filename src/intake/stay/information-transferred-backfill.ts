import type { ReroutedCriterion } from '../../core/engine/types';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { StayApplierDeps } from './applier-deps';
import { reapplyStaysOnce } from './reapply-once';

/** A one-off recorded under `name` that applies again once the stays `sql` selects (`reapplyStaysOnce`). */
const reapplyingOnce =
  (name: string, sql: string) =>
  (db: Db, repository: (tx: Db) => PgRepository, deps: StayApplierDeps): Promise<number> =>
    reapplyStaysOnce(db, repository, deps, name, sql);

/** The name this one-off is recorded under in `schema_migrations`. */
export const INFORMATION_TRANSFERRED_BACKFILL = 'backfill:information-transferred-per-unit';

/** The stays with a report of the information transfer for some units only (a FHIR hospital's completed duty). */
const PER_UNIT_SQL = `SELECT DISTINCT stay_id AS stay FROM stay_fact
  WHERE kind = 'readiness-criteria-met' AND body ? 'to' ORDER BY 1`;

/**
 * The stays whose information transfer was reported per unit before the summary took the engine's time of readiness
 * criterion 4 (migration 175) are applied again once, so their summary's `information_transferred_at` (the dashboard's
 * ready time) is the engine's, and their Encounter's engine issue names the units left. Returns the stays applied.
 */
export const backfillInformationTransferred = reapplyingOnce(INFORMATION_TRANSFERRED_BACKFILL, PER_UNIT_SQL);

/** The name the one-off for the stays re-routed after a report of the information transfer is recorded under. */
export const INFORMATION_TRANSFER_REROUTED_BACKFILL = 'backfill:information-transferred-rerouted';

/**
 * The stays whose routing changed after a report of `criterion` (a municipality, listed vårdcentral, outpatient unit
 * or home health care given, by an admission or a patient update, other than the one it had; a placing municipality
 * given, corrected or withdrawn; the needs or category assessed anew, which choose the units told): those whose
 * readiness criterion a re-routing may have dropped. The engine says which it did (`StayState.criteriaDropped`).
 */
const reroutedAfter = (criterion: ReroutedCriterion): string => `WITH routing AS (
    SELECT stay_id, at, key, value, lag(value) OVER (PARTITION BY stay_id, key ORDER BY at, fact_id) AS before
    FROM (SELECT f.stay_id, f.at, f.fact_id, p.key, p.value FROM stay_fact f, jsonb_each(f.body -> 'patient') p
      WHERE f.kind IN ('admitted', 'patient-updated')
        AND p.key IN ('municipality', 'placingMunicipality', 'primaryCareUnit', 'outpatientUnit', 'homeHealthCare')
      UNION ALL SELECT stay_id, at, fact_id, 'needs', jsonb_build_array(body -> 'needs', body -> 'category')
      FROM stay_fact WHERE kind = 'needs-assessed') g)
  SELECT DISTINCT r.stay_id AS stay FROM routing r
  WHERE r.value IS DISTINCT FROM r.before AND (r.before IS NOT NULL OR r.key = 'placingMunicipality')
    AND EXISTS (SELECT 1 FROM stay_fact t WHERE t.stay_id = r.stay_id AND t.kind = 'readiness-criteria-met'
      AND t.body -> 'criteria' @> '["${criterion}"]' AND t.at <= r.at)
  ORDER BY 1`;

/**
 * The stays whose readiness criterion 4 a re-routing dropped before the summary took the engine's time for them
 * (migration 176: it kept the first report's) are applied again once, so their summary's `information_transferred_at`
 * is since when the criterion has been met for the stay's ready time. Returns the stays applied.
 */
export const backfillInformationTransferRerouted = reapplyingOnce(
  INFORMATION_TRANSFER_REROUTED_BACKFILL,
  reroutedAfter('information-transferred'),
);

/** The name the one-off for the stays re-routed after a report of the named care contact is recorded under. */
export const FVK_APPOINTED_REROUTED_BACKFILL = 'backfill:fvk-appointed-rerouted';

/**
 * The stays whose readiness criterion 3 (the named care contact) a re-routing dropped before the summary took the
 * engine's time for them (migration 176: it kept the first report's) are applied again once, so their summary's
 * `fvk_appointed_at` is since when the criterion has been met for the stay's ready time. Returns the stays applied.
 */
export const backfillFvkAppointedRerouted = reapplyingOnce(
  FVK_APPOINTED_REROUTED_BACKFILL,
  reroutedAfter('fvk-appointed'),
);

/** The name the one-off for the stays whose summary holds the engine's criteria times is recorded under. */
export const CRITERIA_BY_ENGINE_BACKFILL = 'backfill:criteria-by-engine-marked';

/**
 * The stays whose summary holds the engine's times of criteria 3 and 4 (`criteria_by_engine`) are applied again once:
 * before 0.22.0 a stay that late facts showed had no criterion dropped kept the mark and the time it had while the
 * criterion was dropped (ADR 056); the apply now gives it the reports' times and clears the mark. Returns the stays
 * applied.
 */
export const backfillCriteriaByEngine = reapplyingOnce(
  CRITERIA_BY_ENGINE_BACKFILL,
  'SELECT stay_id AS stay FROM stay_summary WHERE criteria_by_engine ORDER BY 1',
);

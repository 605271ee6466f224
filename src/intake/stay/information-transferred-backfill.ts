import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { StayApplierDeps } from './applier-deps';
import { reapplyStaysOnce } from './reapply-once';

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
export const backfillInformationTransferred = (
  db: Db,
  repository: (tx: Db) => PgRepository,
  deps: StayApplierDeps,
): Promise<number> => reapplyStaysOnce(db, repository, deps, INFORMATION_TRANSFERRED_BACKFILL, PER_UNIT_SQL);

import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { StayApplierDeps } from './applier-deps';
import { reapplyStaysOnce } from './reapply-once';

/** The name this one-off is recorded under in `schema_migrations` (no SQL file has it: `migrate` never runs it). */
export const STAYS_LEFT_BACKFILL = 'backfill:stay-left-tags';

/**
 * The stays a party was re-routed away from before the gateway tagged such a party's Tasks (`stay-left`, 0.17.0):
 * each has a Task the re-routing withdrew (its description ends `(omdirigerat <time>)`) or a makulering telling a
 * party the stay left it. Read once, at the first start after the upgrade, from the withdrawn Tasks and the makulering
 * Tasks alone (by their index rows), not every Task of the store.
 */
const STAYS_LEFT_SQL = `SELECT DISTINCT e.value AS stay FROM fhir_search s
  JOIN fhir_resource t ON t.resource_type = 'Task' AND t.id = s.resource_id AND NOT t.deleted
  JOIN fhir_search e ON e.resource_type = 'Task' AND e.resource_id = t.id AND e.param = 'encounter' AND e.system = 'Encounter'
  WHERE s.resource_type = 'Task' AND s.param IN ('status', 'code') AND s.value IN ('cancelled', 'makulering')
    AND (t.content::jsonb->>'description' LIKE '%(omdirigerat %'
      OR t.content::jsonb->>'description' LIKE 'Vårdtillfället har omdirigerats%'
      OR t.content::jsonb->>'description' LIKE 'Ni har avvisat vårdtillfället%'
      OR t.content::jsonb->>'description' LIKE 'En placerande kommun ansvarar för patienten%'
      OR t.content::jsonb->>'description' LIKE 'Er kommun ansvarar nu för patienten%')
  ORDER BY 1`;

/**
 * Applies each stay a party left again (no new fact: the engine folds what the stay has and the Tasks follow), so the
 * Tasks of the party the stay left get their tag and stop showing it the stay: without this, a stay re-routed
 * before the upgrade would go on opening its Encounter and Patient to the party it left until its next message.
 * Once per store (`reapplyStaysOnce`). Returns the number of stays applied.
 */
export const backfillStaysLeft = (
  db: Db,
  repository: (tx: Db) => PgRepository,
  deps: StayApplierDeps,
): Promise<number> => reapplyStaysOnce(db, repository, deps, STAYS_LEFT_BACKFILL, STAYS_LEFT_SQL);

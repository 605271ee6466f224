import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { StayApplierDeps } from './applier-deps';
import { reapplyStaysOnce } from './reapply-once';

/** The name this one-off is recorded under in `schema_migrations`. */
export const SIP_INVITATION_MET_BACKFILL = 'backfill:sip-invitation-met-at';

/**
 * The stays with a named care contact's SIP invitation duty (task key `kallelse-sip@…`) the engine completed before it
 * recorded when the invitation was sent (`executionPeriod.end`, ADR 052): read from the completed `kallelse-sip` Tasks
 * alone (by their index rows), not every Task of the store.
 */
const SIP_INVITATION_SQL = `SELECT DISTINCT e.value AS stay FROM fhir_search c
  JOIN fhir_search s ON s.resource_type = 'Task' AND s.resource_id = c.resource_id AND s.param = 'status'
    AND s.value = 'completed'
  JOIN fhir_resource t ON t.resource_type = 'Task' AND t.id = c.resource_id AND NOT t.deleted
  JOIN fhir_search e ON e.resource_type = 'Task' AND e.resource_id = t.id AND e.param = 'encounter' AND e.system = 'Encounter'
  WHERE c.resource_type = 'Task' AND c.param = 'code' AND c.value = 'kallelse-sip'
    AND t.content::jsonb #>> '{executionPeriod,end}' IS NULL
    AND t.content::jsonb #>> '{restriction,period,end}' IS NOT NULL
    AND EXISTS (SELECT 1 FROM jsonb_array_elements(t.content::jsonb -> 'identifier') i
      WHERE i ->> 'value' LIKE '%|kallelse-sip@%')
  ORDER BY 1`;

/**
 * Applies each such stay again once (no new fact), so its invitation duty gets the invitation's time: without it the
 * follow-up (`indicator-rows.pg.ts`) would count a duty met before the upgrade as not met, since a status alone meets
 * nothing (`dutyClosedByStatusAlone`). Once per store (`reapplyStaysOnce`). Returns the number of stays applied.
 */
export const backfillSipInvitationMet = (
  db: Db,
  repository: (tx: Db) => PgRepository,
  deps: StayApplierDeps,
): Promise<number> => reapplyStaysOnce(db, repository, deps, SIP_INVITATION_MET_BACKFILL, SIP_INVITATION_SQL);

import type { Encounter } from '@medplum/fhirtypes';
import type { StayEvaluation } from '../../core/engine/types';
import { engineIssuesOf, stayIssueTexts, withEngineIssues } from '../../fhir/encounter-extensions';
import type { Db } from '../../store/db.port';
import type { PreparedWrite } from '../../store/prepare-write';
import type { PgRepository } from '../../store/repository.pg';
import { INTAKE_AUTHOR, writeOptions } from './applier-deps';
import type { StayFactsInput } from './apply-facts';
import { contentOf, readStayEncounter } from './stay-rows.pg';

/**
 * The stay's Encounter with its `engine-issue` extensions replaced by the stay's issues after an apply that is not a
 * message of the stay (a Patient change, a party's write of one of its Tasks), as a message of the stay replaces them
 * (ADR 024): the Encounter says what the engine says now, e.g. after the hospital reported the information transfer
 * to one unit, which units are left. Written only when they changed, and only for an Encounter the gateway built (its
 * current version is intake's): a client-written Encounter is the client's (ADR 024). `stamp`: the hospital's tenant
 * stamped on the write (default: the Encounter's hospital, its serviceProvider). Read under the caller's stay lock.
 */
export async function encounterIssueRefresh(
  tx: Db,
  repo: PgRepository,
  stayId: string,
  stamp?: string,
): Promise<Pick<StayFactsInput, 'stateWrites'>> {
  const stored = await readStayEncounter(tx, stayId);
  const encounter = stored?.author === INTAKE_AUTHOR ? contentOf<Encounter>(stored) : undefined;
  if (!stored || !encounter) return {};
  const stateWrites = (evaluation: StayEvaluation): PreparedWrite<Encounter>[] => {
    const issues = stayIssueTexts(evaluation);
    const was = engineIssuesOf(encounter);
    if (was.length === issues.length && was.every((t, i) => t === issues[i])) return [];
    const write = writeOptions(stamp ?? encounter.serviceProvider?.reference);
    return [repo.prepare(withEngineIssues(encounter, issues), stored.id, stored.row, 'PUT', write)];
  };
  return { stateWrites };
}

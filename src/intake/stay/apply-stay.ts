import type { Encounter, Patient, Reference } from '@medplum/fhirtypes';
import type { Agreement } from '../../core/agreements/agreement.schema';
import { evaluateStay } from '../../core/engine/evaluate';
import type { Party, StayEvaluation } from '../../core/engine/types';
import type { StayFact } from '../../core/stay/facts';
import type { Clock } from '../../platform/clock';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { WriteOptions } from '../../store/repository.port';
import { taskSubject } from '../../fhir/task';
import { storeAndLoadFacts } from './fact-store';
import type { OrganizationCache } from './party-resolver';
import { reconcileTasks, type ReconcileResult } from './reconcile-tasks';

/** Author stamped on every write intake makes, so the FHIR-push hook can tell them from client writes. */
export const INTAKE_AUTHOR = 'svu-gateway:intake';

export interface StayApplierDeps {
  agreement: () => Promise<Agreement>;
  clock: Clock;
  orgs: OrganizationCache;
}

export interface ApplyStayInput {
  stayId: string;
  facts: readonly StayFact[];
  source: 'hl7' | 'fhir';
  patient: Reference<Patient>;
  encounter: Reference<Encounter>;
  /** The hospital's tenant (`Organization/<id>`), stamped on intake's writes so the hospital's client sees them. */
  authorOrganization?: string;
}

export interface ApplyStayResult {
  evaluation: StayEvaluation;
  newFacts: number;
  tasks: ReconcileResult;
}

/** The stay's Patient, for the personnummer on `Task.for` (undefined when the reference does not resolve). */
async function readPatient(repo: PgRepository, ref: Reference<Patient>): Promise<Patient | undefined> {
  if (ref.identifier) return undefined;
  const [type, id] = (ref.reference ?? '').split('/');
  if (type !== 'Patient' || !id) return undefined;
  try {
    return await repo.read<Patient>('Patient', id);
  } catch {
    return undefined;
  }
}

export const intakeWrite: WriteOptions = { author: INTAKE_AUTHOR };

export function writeOptions(authorOrganization?: string): WriteOptions {
  return authorOrganization ? { author: INTAKE_AUTHOR, authorOrganization } : intakeWrite;
}

/**
 * The heart of intake, inside the caller's transaction (which already holds the stay lock): store the new
 * facts, re-run the engine over ALL facts of the stay (so late and out-of-order messages end in the right
 * state), then reconcile the stay's Tasks with the engine's answer. Repository writes add their outbox rows
 * in the same transaction, so delivery follows the commit.
 */
export async function applyStayFacts(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  input: ApplyStayInput,
): Promise<ApplyStayResult> {
  const { added: newFacts, all } = await storeAndLoadFacts(tx, input.stayId, input.facts, input.source);
  const evaluation = evaluateStay(all, await deps.agreement());
  const parties: Party[] = evaluation.tasks.flatMap((t) => [t.owner, t.requester]);
  const now = deps.clock.now();
  const party = await deps.orgs.resolver(repo, parties, now.getTime());
  const tasks = await reconcileTasks(tx, repo, {
    stayId: input.stayId,
    specs: evaluation.tasks,
    patient: taskSubject(input.patient, await readPatient(repo, input.patient)),
    encounter: input.encounter,
    party,
    now: now.toISOString(),
    write: writeOptions(input.authorOrganization),
  });
  return { evaluation, newFacts, tasks };
}

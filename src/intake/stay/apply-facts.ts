import { newResourceId } from '../../store/resource-id';
import type { Encounter, Patient, Reference, Resource, Task } from '@medplum/fhirtypes';
import { evaluateStay } from '../../core/engine/evaluate';
import { engineIssues, type EngineIssue } from '../../core/engine/issues';
import type { StayEvaluation, StayState } from '../../core/engine/types';
import type { StayFact } from '../../core/stay/facts';
import { rejectionParties, withRejectionNames } from '../../fhir/references';
import { taskSubject } from '../../fhir/task';
import { yieldToEventLoop } from '../../platform/yield';
import type { Db } from '../../store/db.port';
import type { PreparedWrite } from '../../store/prepare-write';
import type { PgRepository } from '../../store/repository.pg';
import type { WriteOptions } from '../../store/repository.port';
import type { StayApplierDeps } from './applier-deps';
import { isTransferToSomeUnits } from '../../store/stay-summary';
import { storeAndLoadFactsOfStays, storeCriteriaByEngine } from './fact-store';
import { planTasks, prepareTaskWrites, type ReconcileResult, type TaskPlan } from './reconcile-tasks';
import { unconnectedOwners } from './unconnected';
import { contentOf, type StayRow } from './stay-rows.pg';

/** One stay's share of an apply: the new facts and what the stay's Tasks are written with. */
export interface StayFactsInput {
  stayId: string;
  /** The facts this apply brings (each with `stayId` set); a fact id stored before is ignored. */
  facts: readonly StayFact[];
  patient: Reference<Patient>;
  /** The stay's Patient when the caller has it (HL7 builds it); otherwise read from `patient` for `Task.for`. */
  patientResource?: Patient;
  encounter: Reference<Encounter>;
  /** Author (and the hospital's tenant) stamped on the stay's writes. */
  write: WriteOptions;
  /** The stay's stored Tasks when the caller read them already (HL7 reads them with the Encounter); else read here. */
  storedTasks?: readonly StayRow[];
  /**
   * Writes that follow from the stay's evaluated state, made before its Tasks (HL7: the Encounter, whose status
   * and extensions the engine's state gives). FHIR intake has none: the client wrote the Encounter.
   */
  stateWrites?: (evaluation: StayEvaluation) => PreparedWrite<Resource>[];
}

export interface StayFactsApplied {
  stayId: string;
  evaluation: StayEvaluation;
  /** How many of the input's facts were new. */
  newFacts: number;
  /** The Task writes made (ids, what replaced what): the per-message outcome reads it. */
  plan: TaskPlan;
  tasks: ReconcileResult;
  /** Engine warnings and rejected new facts (already reported to `deps.issues` after the commit). */
  issues: EngineIssue[];
}

export interface ApplyFactsOptions {
  /** Writes made first in the same statement (HL7: the messages' Patients). */
  before?: PreparedWrite<Resource>[];
  newId?: () => string;
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

/**
 * The one way facts reach a stay, for both intakes (HL7 batches, FHIR single writes, rejections, SIP events), in
 * the caller's transaction, which already holds the stays' locks. For N stays, with a fixed number of statements:
 * store the new facts and load every fact of the stays with the Tasks not handed in (one); then in
 * memory re-run the engine over ALL facts of each stay (so late and out-of-order facts end in the right state),
 * derive its Tasks, plan them against the stored ones; and write every new version with its history, index and
 * outbox rows (one). Each stay's engine issues go to `deps.issues` after the writes (a log line and a counter).
 */
export async function applyFactsToStays(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  source: 'hl7' | 'fhir',
  stays: readonly StayFactsInput[],
  opts: ApplyFactsOptions = {},
): Promise<StayFactsApplied[]> {
  const newId = opts.newId ?? newResourceId;
  const {
    facts: factsOf,
    tasks: readTasks,
    criteriaByEngine,
  } = await storeAndLoadFactsOfStays(
    tx,
    stays.map((s) => s.stayId),
    stays.flatMap((s) => s.facts),
    source,
    stays.filter((s) => !s.storedTasks).map((s) => s.stayId),
  );
  const agreement = await deps.agreement();
  const nowDate = deps.clock.now();
  const now = nowDate.toISOString();

  const prepared: PreparedWrite<Resource>[] = [...(opts.before ?? [])];
  const out: StayFactsApplied[] = [];
  // the dashboard's times of criteria 3 and 4 for the stays whose transfer was reported per unit or whose criterion 3
  // or 4 a re-routing dropped: the engine's; and for a stay whose summary had them and no longer needs them
  const byEngine: { stayId: string; state: StayState; byEngine: boolean }[] = [];
  let n = 0;
  for (const stay of stays) {
    if (++n % 4 === 0) await yieldToEventLoop(); // keep ACKs flowing while a large batch is built
    const loaded = factsOf.get(stay.stayId);
    let evaluation = evaluateStay(loaded?.all ?? [], agreement);
    const party = await deps.orgs.resolver(
      repo,
      [
        ...evaluation.tasks.flatMap((t) => [t.owner, t.requester, ...(t.principals ?? [])]),
        ...rejectionParties(evaluation),
      ],
      nowDate.getTime(),
    );
    const unconnected = unconnectedOwners(evaluation.tasks, party);
    if (unconnected.length > 0)
      evaluation = { ...evaluation, warnings: [...(evaluation.warnings ?? []), ...unconnected] };
    // what the hospital reads (the answer, the Encounter's issues) names the units, not their references
    evaluation = withRejectionNames(evaluation, party);
    const issues = engineIssues(evaluation, stay.facts);
    if (stay.stateWrites) prepared.push(...stay.stateWrites(evaluation));
    const storedTasks = stay.storedTasks ?? readTasks.get(stay.stayId) ?? [];
    const patientResource = stay.patientResource ?? (await readPatient(repo, stay.patient));
    const plan = planTasks(
      storedTasks.flatMap((r) => contentOf<Task>(r) ?? []),
      {
        stayId: stay.stayId,
        specs: evaluation.tasks,
        patient: taskSubject(stay.patient, patientResource),
        encounter: stay.encounter,
        party,
        now,
      },
      newId,
    );
    prepared.push(...prepareTaskWrites(repo, plan, storedTasks, stay.write));
    out.push({ stayId: stay.stayId, evaluation, newFacts: loaded?.added ?? 0, plan, tasks: plan.result, issues });
    const engineTimes = evaluation.state.criteriaDropped !== undefined || !!loaded?.all.some(isTransferToSomeUnits);
    if (engineTimes || criteriaByEngine.has(stay.stayId))
      byEngine.push({ stayId: stay.stayId, state: evaluation.state, byEngine: engineTimes });
  }
  await repo.commitPrepared(tx, prepared);
  await storeCriteriaByEngine(tx, byEngine);
  for (const a of out) if (a.issues.length > 0) deps.issues?.(a.stayId, source, a.issues);
  return out;
}

import type { Encounter, Patient, Reference } from '@medplum/fhirtypes';
import type { StayEvaluation } from '../../core/engine/types';
import { warningCode, type EngineIssue } from '../../core/engine/issues';
import { addWriteNotes, type WriteNote } from '../../platform/write-notes';
import type { StayFact } from '../../core/stay/facts';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import { applyFactsToStays, type StayFactsInput } from './apply-facts';
import { writeOptions, type StayApplierDeps } from './applier-deps';
import type { ReconcileResult, TaskPlan } from './reconcile-tasks';

export { INTAKE_AUTHOR, intakeWrite, writeOptions, type StayApplierDeps } from './applier-deps';

export interface ApplyStayInput {
  stayId: string;
  facts: readonly StayFact[];
  source: 'hl7' | 'fhir';
  patient: Reference<Patient>;
  /** The stay's Patient when the caller has it (else `applyFactsToStays` reads it for `Task.for`). */
  patientResource?: Patient;
  encounter: Reference<Encounter>;
  /** The hospital's tenant (`Organization/<id>`), stamped on intake's writes so the hospital's client sees them. */
  authorOrganization?: string;
  /** Writes that follow from the stay's evaluated state, made before its Tasks (see `StayFactsInput`). */
  stateWrites?: StayFactsInput['stateWrites'];
}

export interface ApplyStayResult {
  evaluation: StayEvaluation;
  newFacts: number;
  tasks: ReconcileResult;
  plan: TaskPlan;
  issues: EngineIssue[];
}

/** The engine's answer about these facts as notes for the write's answer: each rejected one, and every warning. */
export function writeNotesOf(evaluation: StayEvaluation, facts: readonly StayFact[]): WriteNote[] {
  const kinds = new Map(facts.map((f) => [f.id, f.kind]));
  return [
    ...evaluation.rejected.flatMap((r) => {
      const kind = kinds.get(r.factId);
      return kind ? [{ code: 'fact-rejected', text: `${kind}: ${r.reason}` }] : [];
    }),
    ...(evaluation.warnings ?? []).map((w) => ({ code: warningCode(w), text: w })),
  ];
}

/**
 * One stay's new facts (FHIR push, a receiver's rejection, a SIP event), in the caller's transaction, which already
 * holds the stay lock: `applyFactsToStays` with one stay, the same function the HL7 batches use.
 */
export async function applyStayFacts(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  input: ApplyStayInput,
): Promise<ApplyStayResult> {
  const [applied] = await applyFactsToStays(tx, repo, deps, input.source, [
    {
      stayId: input.stayId,
      facts: input.facts,
      patient: input.patient,
      ...(input.patientResource ? { patientResource: input.patientResource } : {}),
      encounter: input.encounter,
      write: writeOptions(input.authorOrganization),
      ...(input.stateWrites ? { stateWrites: input.stateWrites } : {}),
    },
  ]);
  if (!applied) throw new Error('applyFactsToStays returned no result for its one stay');
  // The FHIR write's answer carries them as OperationOutcome warnings (ADR 024).
  const about = `Encounter/${input.stayId}`;
  addWriteNotes(writeNotesOf(applied.evaluation, input.facts).map((n) => ({ ...n, about })));
  return applied;
}

import type { Task } from '@medplum/fhirtypes';
import { informationTransferUnit, isInformationTransferDuty, metLate } from '../../core/engine/duties';
import type { StayFact } from '../../core/stay/facts';
import { businessStatusConcept, readTaskKey, writtenByOwner } from '../../fhir/task';

/**
 * Whether the write is the hospital completing its duty to transfer the information to a unit: the Task is that duty
 * (`ansvar:informationsoverforing@…`), the writer is its owner (the hospital; the receiver, its requester, reports
 * nothing by it), and it moves from open to `completed`. `writer` is the writing tenant's organisation
 * (`Organization/<id>`), undefined for the gateway and admins.
 */
function completedByHospital(before: Task | undefined, after: Task, writer: string | undefined): boolean {
  const key = readTaskKey(after)?.key;
  return (
    key !== undefined &&
    isInformationTransferDuty(key) &&
    before !== undefined &&
    writtenByOwner(before, after, writer) &&
    after.status === 'completed' &&
    before.status !== 'completed' &&
    before.status !== 'cancelled'
  );
}

/** The write time: the version's `meta.lastUpdated`, set by the store. */
const writeTime = (after: Task, fallback: string): string => after.meta?.lastUpdated ?? fallback;

/**
 * Readiness criterion 4 of a Task write (seed 001 §3: "informationsöverföring har skett till de enheter som har fått
 * ett inskrivningsmeddelande"): the hospital completes its duty to transfer the information to a unit. The FHIR
 * hospital's report of the transfer, as the HL7 criterion `informationsoverforing` in an A08, without removing and
 * giving again the Encounter's `readiness-criteria` code. Unlike that criterion it names its unit (`to`: the unit in
 * the duty's key), so it meets that unit's duty only (`transferTo`); a ready notice held back by the agreement's gate
 * goes out once every unit with the duty has had its transfer reported. Undefined for any other write. One fact per
 * Task (the id names it), so a later write adds nothing. `at` is the write time.
 */
export function informationTransferredFact(
  before: Task | undefined,
  after: Task,
  writer: string | undefined,
  now: string,
): StayFact | undefined {
  const key = readTaskKey(after);
  const unit = key && informationTransferUnit(key.key);
  if (!key || !unit || !after.id || !completedByHospital(before, after, writer)) return undefined;
  return {
    id: `fhir:Task/${after.id}#information-transferred`,
    stayId: key.stayId,
    at: writeTime(after, now),
    kind: 'readiness-criteria-met',
    criteria: ['information-transferred'],
    to: [unit],
  };
}

/**
 * The duty as the hospital's completion is stored: met at the write time (`executionPeriod.end`, which the owner may
 * not set itself), on time or late against its deadline for good, as the gateway records a duty met by a message.
 * The engine meets it at the same time from the fact; the reconciler leaves a completed Task as it is. Undefined
 * for any other write.
 */
export function informationTransferDutyMet(
  before: Task | undefined,
  after: Task,
  writer: string | undefined,
  now: string,
): Task | undefined {
  if (!completedByHospital(before, after, writer)) return undefined;
  const at = writeTime(after, now);
  const due = after.restriction?.period?.end;
  return {
    ...after,
    executionPeriod: { ...after.executionPeriod, end: at },
    ...(due !== undefined
      ? { businessStatus: businessStatusConcept(metLate({ due, metAt: at }) ? 'overdue' : 'on-time') }
      : {}),
  };
}

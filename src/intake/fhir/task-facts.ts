import type { Organization, Patient, Reference, Task } from '@medplum/fhirtypes';
import type { StayFact } from '../../core/stay/facts';
import { ORGANIZATION_REFERENCE, organizationIdOf } from '../../fhir/references';
import { readTaskKey } from '../../fhir/task';
import { TASK_STATUS_REASONS_TEXT } from '../../fhir/codes';
import { CODE_SYSTEM } from '../../fhir/constants';
import { addWriteNotes } from '../../platform/write-notes';
import type { Db } from '../../store/db.port';
import { organisationLabel } from '../../store/organisation-names.pg';
import type { PgRepository } from '../../store/repository.pg';
import type { ResourceChange } from '../../store/repository.port';
import { applyStayFacts, type StayApplierDeps } from '../stay/apply-stay';
import { encounterIssueRefresh } from '../stay/issue-refresh';
import { lockStays } from '../stay/stay-rows.pg';
import { fvkAppointedFact } from './fvk-appointed';
import { informationTransferredFact } from './information-transferred';
import { rejectedByAnother, rejectedWithoutReason, rejectionFact } from './rejection-hook';

/** The write-note and log code of a receiver's Task rejected by another than its owner (`rejectedByAnother`). */
export const REJECTED_BY_ANOTHER = 'rejection-not-by-owner';
/** The write-note and log code of a receiver's own rejection without a known reason code (`rejectedWithoutReason`). */
export const REJECTED_WITHOUT_REASON = 'rejection-without-reason';

/** The directory's name of the Task's owner; else the name the Task gives it, or its reference. */
async function ownerName(repo: PgRepository, task: Task): Promise<string> {
  const ref = task.owner?.reference ?? '';
  if (ORGANIZATION_REFERENCE.test(ref)) {
    const org = await repo.read<Organization>('Organization', organizationIdOf(ref)).catch(() => undefined);
    if (org?.name) return org.name;
  }
  return task.owner?.display ?? organisationLabel(undefined, ref);
}

/**
 * A receiver's Task rejected by another than its owner (an admin) is stored, but re-routes nothing: said in the write's
 * answer (an OperationOutcome warning and a `Warning` header, ADR 024) and a log line, naming the owner, whose own
 * rejection would re-route the stay and which may still give it.
 */
async function sayRejectedByAnother(repo: PgRepository, deps: StayApplierDeps, task: Task): Promise<void> {
  const owner = await ownerName(repo, task);
  sayOfTask(
    deps,
    task,
    REJECTED_BY_ANOTHER,
    `Task/${task.id ?? ''} was rejected by someone other than its owner, ${owner}: only ${owner}'s own rejection (status rejected with a statusReason from ${CODE_SYSTEM.taskStatusReason}) re-routes the stay, so the stay is not re-routed. ${owner} may still reject it itself; to re-route the stay now, report the right municipality or unit (an HL7 A08, or an update of the Encounter or Patient)`,
  );
}

/**
 * A receiver's own rejection without a reason code the gateway knows is stored, but re-routes nothing: said in the
 * write's answer and a log line, with the codes that would (an unknown code is not refused, it cannot be acted on).
 */
function sayRejectedWithoutReason(deps: StayApplierDeps, task: Task): void {
  const sent = task.statusReason?.coding?.map((c) => c.code).filter(Boolean) ?? [];
  const given =
    sent.length > 0
      ? `with the reason code ${sent.join(', ')}, which the gateway does not know`
      : 'without a reason code';
  sayOfTask(
    deps,
    task,
    REJECTED_WITHOUT_REASON,
    `Task/${task.id ?? ''} was rejected ${given}: it is stored, but the stay is not re-routed. If the patient is not yours, reject it with a Task.statusReason coded from ${CODE_SYSTEM.taskStatusReason} (${TASK_STATUS_REASONS_TEXT}): the hospital is then asked to correct the routing`,
  );
}

/** A write's note about `task` (its answer's warning, ADR 024) and the stay's log line under the same `code`. */
function sayOfTask(deps: StayApplierDeps, task: Task, code: string, text: string): void {
  addWriteNotes([{ code, text, about: `Task/${task.id ?? ''}` }]);
  const stayId = readTaskKey(task)?.stayId;
  if (stayId) deps.issues?.(stayId, 'fhir', [{ code }]);
}

/**
 * What a party's write of one of the gateway's Tasks tells the stay: a receiver's rejection (re-routing and the
 * hospital's Task), the outpatient unit's appointment of the named care contact (readiness criterion 3) or the
 * hospital's completion of its duty to transfer the information to a unit (criterion 4), each only by the Task's owner
 * (`writtenByOwner`). `writer` is the writing tenant's organisation (`Organization/<id>`), undefined for the gateway and admins.
 * Applied in the write's transaction, so the stay's Tasks change with the answer or not at all. A rejection by another
 * than the owner, or without a reason code, is said (`sayRejectedByAnother`, `sayRejectedWithoutReason`).
 */
export async function applyTaskFacts(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  change: ResourceChange,
  writer: string | undefined,
) {
  const after = change.after as Task;
  const before = change.before as Task | undefined;
  const at = deps.clock.now().toISOString();
  if (rejectedByAnother(before, after, writer)) await sayRejectedByAnother(repo, deps, after);
  if (rejectedWithoutReason(before, after, writer)) sayRejectedWithoutReason(deps, after);
  const facts = [
    rejectionFact(before, after, writer, after.meta?.versionId ?? '0', at),
    fvkAppointedFact(before, after, writer, at),
    informationTransferredFact(before, after, writer, at),
  ].filter((f): f is StayFact => f !== undefined);
  const stayId = facts[0]?.stayId;
  if (!stayId) return;
  await lockStays(tx, [stayId]);
  // the Encounter the gateway built from HL7 says what the engine says after the write (units left to be told)
  const refresh = await encounterIssueRefresh(tx, repo, stayId);
  await applyStayFacts(tx, repo, deps, {
    stayId,
    facts,
    source: 'fhir',
    patient: { ...(after.for as Reference<Patient> | undefined) },
    encounter: { reference: `Encounter/${stayId}` },
    ...refresh,
  });
}

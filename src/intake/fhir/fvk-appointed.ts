import type { Task } from '@medplum/fhirtypes';
import type { StayFact } from '../../core/stay/facts';
import { CODE_SYSTEM } from '../../fhir/constants';
import { readTaskKey, writtenByOwner } from '../../fhir/task';

const FVK_TASK = 'utse-fast-vardkontakt@';

/** The named care contact the unit wrote on its Task (`Task.output` `fast-vardkontakt`), trimmed; else undefined. */
function namedContact(task: Task | undefined): string | undefined {
  const out = task?.output?.find((o) =>
    o.type?.coding?.some((c) => c.system === CODE_SYSTEM.taskOutput && c.code === 'fast-vardkontakt'),
  );
  const name = out?.valueString?.trim();
  return name ? name : undefined;
}

/** The unit has appointed the named care contact: it named who, or it completed its Task. */
const appointed = (t: Task | undefined): boolean =>
  t !== undefined && t.status !== 'cancelled' && (t.status === 'completed' || namedContact(t) !== undefined);

/** The write appoints: it names a contact (or another), or completes the Task, leaving it appointed. */
const appoints = (before: Task, after: Task): boolean =>
  appointed(after) &&
  (!appointed(before) ||
    (namedContact(after) !== undefined && namedContact(after) !== namedContact(before)) ||
    (after.status === 'completed' && before.status !== 'completed'));

/**
 * Readiness criterion 3 of a Task write (seed 001 §3: "fast vårdkontakt är utsedd i den landstingsfinansierade öppna
 * vården"): the outpatient unit that owns the stay's `utse-fast-vardkontakt` Task names the contact or completes the
 * Task. The gateway knows it when it happens, so the hospital need not report it again, and a ready notice held back
 * by the agreement's gate for this criterion goes out then. Only the owner's own write counts: `writer` is the writing
 * tenant's organisation (`Organization/<id>`), undefined for the gateway and admins. The requester (the hospital)
 * cannot answer the unit's Task for it (`requesterChangeIssues`); neither the gateway's writes (a withdrawal, a
 * deadline step) nor an admin's appoint anyone, and the unit's own naming or completion after such a write still
 * counts. Undefined for any other write. One fact per Task (the id names it), so a later write adds nothing. `at` is
 * the gateway's clock.
 */
export function fvkAppointedFact(
  before: Task | undefined,
  after: Task,
  writer: string | undefined,
  at: string,
): StayFact | undefined {
  const key = readTaskKey(after);
  if (!key?.key.startsWith(FVK_TASK) || !after.id || !before || !appoints(before, after)) return undefined;
  if (!writtenByOwner(before, after, writer)) return undefined;
  return {
    id: `fhir:Task/${after.id}#fvk-appointed`,
    stayId: key.stayId,
    at,
    kind: 'readiness-criteria-met',
    criteria: ['fvk-appointed'],
  };
}

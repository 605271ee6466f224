import type { Task } from '@medplum/fhirtypes';
import type { StayFact } from '../../core/stay/facts';
import { CODE_SYSTEM } from '../../fhir/constants';
import { readTaskKey } from '../../fhir/task';

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

/**
 * Readiness criterion 3 of a Task write (seed 001 §3: "fast vårdkontakt är utsedd i den landstingsfinansierade öppna
 * vården"): the outpatient unit that owns the stay's `utse-fast-vardkontakt` Task names the contact or completes the
 * Task. The gateway knows it when it happens, so the hospital need not report it again, and a ready notice held back
 * by the agreement's gate for this criterion goes out then. Undefined for any other write, and for a Task that was
 * already appointed. One fact per Task (the id names it), so a later write adds nothing. `at` is the gateway's clock.
 */
export function fvkAppointedFact(before: Task | undefined, after: Task, at: string): StayFact | undefined {
  const key = readTaskKey(after);
  if (!key?.key.startsWith(FVK_TASK) || !after.id || appointed(before) || !appointed(after)) return undefined;
  return {
    id: `fhir:Task/${after.id}#fvk-appointed`,
    stayId: key.stayId,
    at,
    kind: 'readiness-criteria-met',
    criteria: ['fvk-appointed'],
  };
}

import type { Task } from '@medplum/fhirtypes';
import { isDutyKey } from '../../core/engine/duties';
import type { StayFact } from '../../core/stay/facts';
import { TASK_STATUS_REASON_INFO } from '../../fhir/codes';
import { readTaskKey, writtenByOwner } from '../../fhir/task';

const REASONS: ReadonlySet<string> = new Set(Object.keys(TASK_STATUS_REASON_INFO));

/**
 * The receiver-rejected fact of a Task write: a receiver's Task set to `rejected` with a coded `statusReason`
 * (`ej-folkbokford`) by its owner's own write (`writer`, the writing tenant's organisation: undefined for the gateway
 * and admins, whose `rejected` re-routes nothing; the requester cannot write it, `requesterChangeIssues`). Undefined
 * for any other write. The party is read from the Task key (`<code>@<party>[#…]`), so only the gateway's own message
 * Tasks count. `at` is the gateway's clock.
 */
export function rejectionFact(
  before: Task | undefined,
  after: Task,
  writer: string | undefined,
  version: string,
  at: string,
): StayFact | undefined {
  if (after.status !== 'rejected' || before?.status === 'rejected') return undefined;
  if (!writtenByOwner(before, after, writer)) return undefined;
  const reason = after.statusReason?.coding?.find((c) => c.code && REASONS.has(c.code))?.code;
  const key = readTaskKey(after);
  if (!reason || !key || isDutyKey(key.key) || !key.key.includes('@')) return undefined;
  const party = key.key.slice(key.key.indexOf('@') + 1).split('#')[0] ?? '';
  if (!party || party.startsWith('hospital:')) return undefined;
  return {
    id: `fhir:Task/${after.id ?? ''}/_history/${version}#rejected`,
    stayId: key.stayId,
    at,
    kind: 'receiver-rejected',
    party,
    reason,
  };
}

import type { Task } from '@medplum/fhirtypes';
import { isDutyKey } from '../../core/engine/duties';
import type { StayFact } from '../../core/stay/facts';
import {
  hasRejectedByAnother,
  readTaskKey,
  rejectionReasonOf,
  withRejectedByAnother,
  writtenByOwner,
} from '../../fhir/task';

/**
 * The party key a receiver's Task stands for (`<code>@<party>[#…]`), whose own rejection re-routes the stay: not a
 * hospital's duty nor a hospital's Task, and only the gateway's own message Tasks (with a task key).
 */
export function receiverOf(task: Task): { stayId: string; party: string } | undefined {
  const key = readTaskKey(task);
  if (!key || isDutyKey(key.key) || !key.key.includes('@')) return undefined;
  const party = key.key.slice(key.key.indexOf('@') + 1).split('#')[0] ?? '';
  return party && !party.startsWith('hospital:') ? { stayId: key.stayId, party } : undefined;
}

/** Whether a stored Task's rejection already counted: `rejected` by its owner with a reason code (`rejectionFact`). */
function counted(task: Task): boolean {
  return task.status === 'rejected' && !hasRejectedByAnother(task) && rejectionReasonOf(task) !== undefined;
}

/**
 * The receiver-rejected fact of a Task write: a receiver's Task set to `rejected` with a coded `statusReason`
 * (`rejectionReasonOf`, e.g. `ej-folkbokford`) by its owner's own write (`writer`, the writing tenant's organisation:
 * undefined for the gateway and admins, whose `rejected` re-routes nothing; the requester cannot write it,
 * `requesterChangeIssues`). A Task already `rejected` counts only when that rejection did not (`counted`): another
 * rejected it (`hasRejectedByAnother`), or its owner without a reason code; the owner's coded rejection is then its
 * answer. Undefined for any other write. The party is read from the
 * Task key (`receiverOf`). `at` is the gateway's clock.
 */
export function rejectionFact(
  before: Task | undefined,
  after: Task,
  writer: string | undefined,
  version: string,
  at: string,
): StayFact | undefined {
  if (after.status !== 'rejected' || (before && counted(before))) return undefined;
  if (!writtenByOwner(before, after, writer)) return undefined;
  const reason = rejectionReasonOf(after);
  const receiver = receiverOf(after);
  if (!reason || !receiver) return undefined;
  return {
    id: `fhir:Task/${after.id ?? ''}/_history/${version}#rejected`,
    stayId: receiver.stayId,
    at,
    kind: 'receiver-rejected',
    party: receiver.party,
    reason,
  };
}

/**
 * Whether a Task write is a rejection of a receiver's Task (`receiverOf`) by another than its owner (an admin): stored as
 * written, but it re-routes nothing, so the write's answer says so (`rejectionFact` counts the owner's own only).
 */
export function rejectedByAnother(before: Task | undefined, after: Task, writer: string | undefined): boolean {
  return (
    after.status === 'rejected' &&
    before?.status !== 'rejected' &&
    !writtenByOwner(before, after, writer) &&
    receiverOf(after) !== undefined
  );
}

/**
 * Whether a Task write is its owner's rejection of a receiver's Task (`receiverOf`) without a reason code of
 * `svu-task-status-reason` (`rejectionReasonOf`): stored as written, but the gateway cannot tell why, so it re-routes
 * nothing, and the write's answer says so (an unknown code is not refused, ADR 054).
 */
export function rejectedWithoutReason(before: Task | undefined, after: Task, writer: string | undefined): boolean {
  return (
    after.status === 'rejected' &&
    before?.status !== 'rejected' &&
    writtenByOwner(before, after, writer) &&
    rejectionReasonOf(after) === undefined &&
    receiverOf(after) !== undefined
  );
}

/**
 * The version to store of a Task write as to who rejected it: a receiver's Task `rejected` by another than its owner
 * carries the `rejected-by-another` tag (`withRejectedByAnother`), so its owner and an admin read that the stay was not
 * re-routed, and the owner's own coded rejection of it, even in the same content, counts (`ownerRejectsAfterAnother`,
 * `rejectionFact`). The tag goes with that rejection or when the Task leaves `rejected`; the gateway sets it, whatever
 * the writer sent. Undefined when the write already has it right.
 */
export function rejectionMark(before: Task | undefined, after: Task, writer: string | undefined): Task | undefined {
  const owners = writtenByOwner(before, after, writer);
  const marked =
    after.status === 'rejected' &&
    receiverOf(after) !== undefined &&
    (before?.status !== 'rejected'
      ? !owners
      : !(owners && rejectionReasonOf(after) !== undefined) && hasRejectedByAnother(before));
  return marked === hasRejectedByAnother(after) ? undefined : { ...after, meta: withRejectedByAnother(after, marked) };
}

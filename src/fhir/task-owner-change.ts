/**
 * What the owner of a Task may change (contract, "Obligations, acknowledgements and answers"): `status` along
 * the allowed transitions, `statusReason`, `businessStatus` except the gateway's own deadline coding, `note`,
 * `output` (and `lastModified`, its own bookkeeping). Anything else (owner, for, encounter, focus, code,
 * description, restriction, requester, …) is refused: the owner could otherwise hand the Task, and the
 * patient, to another organisation. Pure.
 */
import type { Coding, Task } from '@medplum/fhirtypes';
import { isDutyKey, isInformationTransferDuty, isSipInvitationDutyKey } from '../core/engine/duties';
import type { ErrorIssue } from '../platform/errors';
import { TASK_STATUS_REASONS_TEXT } from './codes';
import { CODE_SYSTEM, TAG_SYSTEM } from './constants';
import { readTaskKey, rejectionReasonOf } from './task';

/** Elements the owner may change (beyond these only the server-set `meta.versionId`/`meta.lastUpdated`). */
export const OWNER_MAY_CHANGE: readonly string[] = [
  'status',
  'statusReason',
  'businessStatus',
  'note',
  'output',
  'lastModified',
];

/**
 * The status transitions an owner may make (the contract's `requested` → `received` → `accepted`/`rejected` →
 * `completed`, `accepted` directly as an acknowledgement, `in-progress` while working). Withdrawing
 * (`cancelled`) is for the requester and the gateway.
 */
export const OWNER_TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  requested: ['received', 'accepted', 'rejected'],
  received: ['accepted', 'rejected'],
  accepted: ['in-progress', 'completed'],
  'in-progress': ['completed'],
};

const TERMINAL = new Set(['completed', 'rejected', 'cancelled']);

/**
 * The statuses the owner of `task` may move it to from its status: `OWNER_TRANSITIONS`, but for a hospital's duty
 * (`ansvar:` key, `isDutyKey`). A duty is the hospital's by law: it may acknowledge it (`received`, `accepted`) and
 * say it works on it (`in-progress`), never reject it, and complete only its duty to transfer the information to a
 * unit (`isInformationTransferDuty`), from any open status: that completion is the hospital's report that the
 * information reached the unit (readiness criterion 4, like the HL7 criterion `informationsoverforing`). Every other
 * duty is met by the hospital's message, which the gateway records (`completed` at its send time), not by a status.
 */
export function ownerTransitions(task: Task): readonly string[] {
  const allowed = OWNER_TRANSITIONS[task.status] ?? [];
  const key = readTaskKey(task)?.key;
  // The named care contact's duty to invite to the SIP is met by its invitation, not by `completed`; it may acknowledge
  // it, and reject it with a coded reason, which re-routes the stay (the patient is not listed there;
  // `invitationRejectionRefusal`)
  if (key && isSipInvitationDutyKey(key)) return allowed.filter((s) => s !== 'completed');
  if (!key || !isDutyKey(key)) return allowed;
  const open = allowed.filter((s) => s !== 'rejected' && s !== 'completed');
  return isInformationTransferDuty(key) && !TERMINAL.has(task.status) ? [...open, 'completed'] : open;
}

/** The message that meets a duty, as a person reads it: its code's name (`Task.code`). */
function messageOf(task: Task): string {
  const coding = task.code?.coding?.find((c) => c.system === CODE_SYSTEM.task) ?? task.code?.coding?.[0];
  const name = coding?.display ?? task.code?.text;
  return name && coding?.code ? `${name} (${coding.code})` : (name ?? coding?.code ?? 'its message');
}

/**
 * Why the owner may not move a duty to `to` (`completed` or `rejected`, which `ownerTransitions` leaves out for a duty;
 * `completed` for the named care contact's SIP invitation duty), undefined for another move or Task: the deadline runs
 * on until the message or the invitation comes.
 */
function dutyRefusal(before: Task, to: string): string | undefined {
  const key = readTaskKey(before)?.key;
  if (!key || TERMINAL.has(before.status)) return undefined;
  const id = `Task/${before.id ?? ''}`;
  if (isSipInvitationDutyKey(key))
    return to === 'completed'
      ? `${id} is met by the SIP invitation, not by a status: as the named care contact create the stay's SIP (POST /fhir/CarePlan with CarePlan.author your organisation and the invited parties in CarePlan.contributor), and the gateway completes this Task when the invitation is sent. Until then it stays open and its deadline runs`
      : undefined;
  if (!isDutyKey(key)) return undefined;
  if (to === 'rejected')
    return `${id} is a duty the hospital has by law: it cannot be rejected. It stays open and its deadline runs until it is met`;
  if (to === 'completed' && !isInformationTransferDuty(key))
    return `${id} is met by the hospital's message ${messageOf(before)}, not by a status: the gateway completes it when that message reaches it (HL7 or FHIR). Until then it stays open and its deadline runs`;
  return undefined;
}

/**
 * Why the owner may not reject the named care contact's SIP invitation duty as it does (`after`), undefined when it may:
 * only a rejection with a coded reason (`rejectionReasonOf`) is the unit's answer, which re-routes the stay (the patient
 * is not this unit's); one without would close the duty, and stop its deadline, without the invitation.
 */
function invitationRejectionRefusal(before: Task, after: Task): string | undefined {
  const key = readTaskKey(before)?.key;
  if (after.status !== 'rejected' || before.status === 'rejected' || !key || !isSipInvitationDutyKey(key))
    return undefined;
  if (rejectionReasonOf(after) !== undefined) return undefined;
  return `Task/${before.id ?? ''} is the named care contact's duty to invite to the SIP: it is met by the invitation, and rejected only with a reason that re-routes the stay. If the patient is not this unit's, reject it with a Task.statusReason coded from ${CODE_SYSTEM.taskStatusReason} (${TASK_STATUS_REASONS_TEXT}): the hospital is then asked to correct the routing. Else create the stay's SIP (POST /fhir/CarePlan with CarePlan.author your organisation and the invited parties in CarePlan.contributor), which meets it. Until then it stays open and its deadline runs`;
}

const SERVER_META = new Set(['versionId', 'lastUpdated']);

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * `meta` but what the server keeps whatever a client sends: `versionId`, `lastUpdated` and the `rejected-by-another`
 * tag (`rejectionMark` sets it from who rejected the Task, so its owner may send it or not).
 */
function withoutServerMeta(meta: Task['meta']): Record<string, unknown> | undefined {
  if (!meta) return undefined;
  const tag = meta.tag?.filter((t) => t.system !== TAG_SYSTEM.rejectedByAnother);
  const kept = { ...meta, tag: tag && tag.length > 0 ? tag : undefined };
  const rest = Object.fromEntries(Object.entries(kept).filter(([k, v]) => !SERVER_META.has(k) && v !== undefined));
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function deadlineCoding(t: Task): Coding | undefined {
  return t.businessStatus?.coding?.find((c) => c.system === CODE_SYSTEM.taskBusinessStatus);
}

/**
 * The elements of the Task changed from `before` to `after` other than `mayChange` (and `resourceType`, `id`, the
 * server's `meta.versionId`/`meta.lastUpdated`), in name order.
 */
function changedBeyond(before: Task, after: Task, mayChange: readonly string[]): string[] {
  const b = before as unknown as Record<string, unknown>;
  const a = after as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  return [...keys].sort().filter((k) => {
    if (mayChange.includes(k) || k === 'resourceType' || k === 'id') return false;
    return k === 'meta' ? !same(withoutServerMeta(before.meta), withoutServerMeta(after.meta)) : !same(b[k], a[k]);
  });
}

/** The elements of `after` the owner may not have changed from `before`, each as an issue naming it. */
export function ownerChangeIssues(before: Task, after: Task): ErrorIssue[] {
  const issues: ErrorIssue[] = changedBeyond(before, after, OWNER_MAY_CHANGE).map((k) => ({
    path: `Task.${k}`,
    message: `The owner may not change Task.${k}; it may change only ${OWNER_MAY_CHANGE.join(', ')}`,
  }));
  const from = before.status;
  const to = after.status;
  const allowed = ownerTransitions(before);
  if (from !== to && !allowed.includes(to))
    issues.push({
      path: 'Task.status',
      message:
        dutyRefusal(before, to) ??
        `The owner may not move a Task from '${from}' to '${to}' (allowed from '${from}': ${allowed.join(', ') || 'none'})`,
    });
  const rejection = invitationRejectionRefusal(before, after);
  if (rejection) issues.push({ path: 'Task.statusReason', message: rejection });
  const was = deadlineCoding(before);
  const now = deadlineCoding(after);
  const dropped = now === undefined && TERMINAL.has(to);
  if (!same(was, now) && !dropped)
    issues.push({
      path: 'Task.businessStatus',
      message: `The deadline status in Task.businessStatus (${CODE_SYSTEM.taskBusinessStatus}) is set by the gateway, not by the owner`,
    });
  return issues;
}

/**
 * What the requester of a Task the gateway derived from the stay (one with a task key) may change: withdraw it
 * (`status` to `cancelled`, with its `statusReason`), write a `note` (and `lastModified`). Its other elements are the
 * stay's (the next apply of the stay writes them again: owner, for, code, description, restriction, input, …) or its
 * owner's answer (`output`, the owner's statuses).
 */
export const REQUESTER_MAY_CHANGE: readonly string[] = ['status', 'statusReason', 'note', 'lastModified'];

/**
 * What the requester of a Task the gateway derived may not change, each as an issue naming the element: it may
 * withdraw the Task, not move it to another status (a requester completing the owner's Task would make the owner's duty
 * look met without the owner doing it, and stop its deadline), not write `output` (what the owner answers, e.g. the
 * named care contact), and not change what the stay says (the owner would read a deadline, text or patient the stay's
 * next update writes back). Dropping `businessStatus` with the withdrawal is the gateway's own way and allowed.
 */
export function requesterChangeIssues(before: Task, after: Task): ErrorIssue[] {
  const id = `Task/${before.id ?? ''}`;
  const withdrawn = after.status === 'cancelled';
  const issues: ErrorIssue[] = changedBeyond(before, after, REQUESTER_MAY_CHANGE)
    .filter((k) => !(k === 'businessStatus' && withdrawn && after.businessStatus === undefined))
    .map((k) => ({
      path: `Task.${k}`,
      message:
        k === 'output'
          ? `Task.output of ${id} is its owner's answer: its requester may not write it`
          : `Task.${k} of ${id} is the gateway's, from the stay: as its requester you may only withdraw it (status cancelled, statusReason) and write a note`,
    }));
  if (before.status !== after.status && !withdrawn)
    issues.unshift({
      path: 'Task.status',
      message: `${id} is answered by its owner: as its requester you may withdraw it (cancelled), not move it to '${after.status}'`,
    });
  return issues;
}

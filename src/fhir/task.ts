/**
 * FHIR Task from the engine's TaskSpec (contract "Resources/Task"). Pure: references come from the caller,
 * the business status from the deadline and the `now` passed in.
 */
import type { Encounter, Group, Organization, Patient, Reference, Task } from '@medplum/fhirtypes';
import { isDutyKey, isMetByRecordedAct, metLate } from '../core/engine/duties';
import type { TaskSpec } from '../core/engine/types';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE, TAG_SYSTEM, type TaskBusinessStatus } from './constants';
import { SVU_TASK_CODE_INFO, TASK_BUSINESS_STATUS_INFO, TASK_STATUS_REASON_INFO, type TaskStatusReason } from './codes';
import {
  ORGANIZATION_REFERENCE,
  organizationIdOf,
  resolveParty,
  withPartyNames,
  taskKeyValue,
  taskLogicalReference,
  type PartyResolver,
} from './references';

export interface TaskRefs {
  stayId: string;
  patient: Reference<Patient | Group>;
  encounter: Reference<Encounter>;
  /** Resolves a party to its Organization; unknown parties get a logical reference by identifier. */
  party?: PartyResolver;
  /** Resolves another Task of the stay by key (for `makulering`); default a logical reference by task key. */
  task?: (key: string) => Reference<Task> | undefined;
}

export interface TaskBuildOptions {
  /** Reference time for the business status (ISO). Without it a Task with a deadline is `on-time`. */
  now?: string;
  /** How long before the deadline the Task counts as due soon (ms); default 4 h. */
  dueSoonMs?: number;
  /** Set by the deadline capability once an escalation has been sent. */
  escalated?: boolean;
}

const DEFAULT_DUE_SOON_MS = 4 * 60 * 60 * 1000;

const PERSON_SYSTEMS: ReadonlySet<string> = new Set([
  IDENTIFIER_SYSTEM.personnummer,
  IDENTIFIER_SYSTEM.samordningsnummer,
]);

/**
 * `Task.for`: the Patient reference with the personnummer (or samordningsnummer) beside it, so a municipal system
 * needs no second call (issue 16 item 6). Not for a protected identity (any security label): the reference only.
 */
export function taskSubject(ref: Reference<Patient>, patient: Patient | undefined): Reference<Patient> {
  if (!patient || (patient.meta?.security?.length ?? 0) > 0) return ref;
  const id = patient.identifier?.find((i) => i.system !== undefined && PERSON_SYSTEMS.has(i.system) && i.value);
  return id?.system && id.value ? { ...ref, identifier: { system: id.system, value: id.value } } : ref;
}

/** on-time / due-soon / overdue / escalated for a deadline at `now`. */
export function taskBusinessStatus(
  due: string,
  now: string,
  dueSoonMs = DEFAULT_DUE_SOON_MS,
  escalated = false,
): TaskBusinessStatus {
  if (escalated) return 'escalated';
  const left = Date.parse(due) - Date.parse(now);
  if (left < 0) return 'overdue';
  return left <= dueSoonMs ? 'due-soon' : 'on-time';
}

export function businessStatusConcept(status: TaskBusinessStatus): NonNullable<Task['businessStatus']> {
  return {
    coding: [{ system: CODE_SYSTEM.taskBusinessStatus, code: status, display: TASK_BUSINESS_STATUS_INFO[status] }],
    text: TASK_BUSINESS_STATUS_INFO[status],
  };
}

/** Owner-controlled statuses a rebuilt Task keeps (the owner acknowledged, accepted, … it). */
const OWNER_STATUSES: ReadonlySet<string> = new Set(['received', 'accepted', 'rejected', 'in-progress', 'completed']);

/**
 * The Task's text. The engine knows parties, not their names: where its text stands for a party (`named`: the
 * receiver that rejected a stay, the placing municipality), that party's resolved name replaces the phrase; without
 * a name (an organisation the gateway does not know) the phrase stays.
 */
function describe(spec: TaskSpec, fallback: string, party: PartyResolver | undefined): string {
  const text = spec.description ?? fallback;
  return spec.named ? withPartyNames(text, [spec.named], party) : text;
}

export function buildTask(spec: TaskSpec, refs: TaskRefs, options: TaskBuildOptions = {}): Task {
  const info = SVU_TASK_CODE_INFO[spec.code];
  const owner: Reference<Organization> = resolveParty(spec.owner, refs.party);
  const requester: Reference<Organization> = resolveParty(spec.requester, refs.party);
  const focus =
    spec.code === 'makulering' && spec.focusKey
      ? (refs.task?.(spec.focusKey) ?? taskLogicalReference(refs.stayId, spec.focusKey))
      : refs.encounter;
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: taskKeyValue(refs.stayId, spec.key) }],
    status: spec.status,
    intent: 'order',
    code: { coding: [{ system: CODE_SYSTEM.task, code: spec.code, display: info.display }], text: info.display },
    description: describe(spec, info.display, refs.party),
    focus,
    for: refs.patient,
    encounter: refs.encounter,
    authoredOn: spec.authoredOn,
    requester,
    owner,
  };
  if (spec.partyLeft) task.meta = withStayLeft(task, true);
  if (spec.dutyKey) {
    // A message to a receiver: the deadline is the hospital's (its duty Task); the receiver acknowledges at once.
    task.basedOn = [refs.task?.(spec.dutyKey) ?? taskLogicalReference(refs.stayId, spec.dutyKey)];
  } else if (spec.status === 'completed' && spec.due) {
    // A hospital duty met at the send time of its message: on time or late, for good.
    task.restriction = { period: { end: spec.due } };
    if (spec.metAt) task.executionPeriod = { end: spec.metAt };
    task.businessStatus = businessStatusConcept(metLate(spec) ? 'overdue' : 'on-time');
  } else if (spec.due) {
    task.restriction = { period: { end: spec.due } };
    const status =
      options.escalated === true
        ? 'escalated'
        : options.now
          ? taskBusinessStatus(spec.due, options.now, options.dueSoonMs, false)
          : 'on-time';
    if (spec.status !== 'cancelled') task.businessStatus = businessStatusConcept(status);
  }
  if (task.restriction && spec.principals?.length) {
    // The agreement's principals (region, municipality): a deviation reaches them besides owner and requester.
    task.restriction.recipient = spec.principals.map((p) => resolveParty(p, refs.party));
  }
  if (spec.deadlineRule && !spec.dutyKey) {
    const r = spec.deadlineRule;
    task.extension = [
      {
        url: EXTENSION.deadlineRule,
        valueString: `${r.agreement}/${r.rule} (${r.source.document} ${r.source.section})`.trim(),
      },
    ];
  }
  return task;
}

/**
 * Rebuild a stored Task from a new spec: moves the deadline, owner and description, keeps the owner's
 * status (received/accepted/…) unless the spec cancels or completes it, keeps id/meta versioning of the stored one.
 */
export function applyTaskSpec(existing: Task, spec: TaskSpec, refs: TaskRefs, options: TaskBuildOptions = {}): Task {
  const built = buildTask(spec, refs, options);
  // the owner's answer stands, but a duty's status alone does not meet it
  const answered = OWNER_STATUSES.has(existing.status) && !dutyClosedByStatusAlone(existing);
  const status = spec.status !== 'requested' || !answered ? spec.status : existing.status;
  const left = withStayLeft({ ...built, meta: { ...existing.meta, profile: built.meta?.profile } }, !!spec.partyLeft);
  // another's rejection the engine's status replaces (a duty's) is no longer the Task's
  const meta = withRejectedByAnother({ ...built, meta: left }, status === 'rejected' && hasRejectedByAnother(existing));
  const next: Task = { ...built, id: existing.id, meta, status };
  if (status === 'cancelled' || (status === 'completed' && spec.status !== 'completed')) delete next.businessStatus;
  if (existing.output) next.output = existing.output;
  if (existing.note) next.note = existing.note;
  return next;
}

/**
 * The Task's `meta`, with the `stay-left` tag (`TAG_SYSTEM.stayLeft`, coded with its owner's Organization id) when
 * `left`, without it otherwise; other tags kept. An owner that is no Organization of the directory (a logical
 * reference) has no client to read anything with, so it gets none.
 */
export function withStayLeft(task: Task, left: boolean): Task['meta'] {
  const ref = task.owner?.reference ?? '';
  const owner = ORGANIZATION_REFERENCE.test(ref) ? organizationIdOf(ref) : undefined;
  return withTag(task, TAG_SYSTEM.stayLeft, left && owner ? { code: owner, display: STAY_LEFT_DISPLAY } : undefined);
}

/** Whether a Task was rejected by another than its owner (an admin): the `rejected-by-another` tag (`rejectionMark`). */
export function hasRejectedByAnother(task: Task): boolean {
  return hasTag(task, TAG_SYSTEM.rejectedByAnother);
}

/** The Task's `meta` with the `rejected-by-another` tag when `rejected`, without it otherwise; other tags kept. */
export function withRejectedByAnother(task: Task, rejected: boolean): Task['meta'] {
  const tag = rejected ? { code: 'rejected-by-another', display: REJECTED_BY_ANOTHER } : undefined;
  return withTag(task, TAG_SYSTEM.rejectedByAnother, tag);
}

/** Whether the Task's `meta.tag` has a tag of `system`. */
function hasTag(task: Task, system: string): boolean {
  return (task.meta?.tag ?? []).some((t) => t.system === system);
}

/** The Task's `meta` with `tag` as its one tag of `system` (none when undefined); other tags kept, no empty `tag`. */
function withTag(task: Task, system: string, tag: { code: string; display: string } | undefined): Task['meta'] {
  const others = (task.meta?.tag ?? []).filter((t) => t.system !== system);
  const tags = tag ? [...others, { system, ...tag }] : others;
  const { tag: _old, ...rest } = task.meta ?? {};
  return tags.length > 0 ? { ...rest, tag: tags } : rest;
}

const REJECTED_BY_ANOTHER =
  'Avvisad av annan än ägaren: vårdtillfället har inte styrts om; det gör bara ägarens egen avvisning med kodad orsak';

/**
 * Whether a write of a Task is its owner's own coded `rejected` (`rejectionReasonOf`) of a Task another rejected
 * before it (`hasRejectedByAnother`): the same content is then the owner's answer, which the other's rejection did not
 * give (it re-routes nothing), so it is stored as a version of its own, without the tag, and counts (`rejectionFact`).
 */
export function ownerRejectsAfterAnother(before: Task, after: Task, writer: string | undefined): boolean {
  return (
    before.status === 'rejected' &&
    hasRejectedByAnother(before) &&
    after.status === 'rejected' &&
    rejectionReasonOf(after) !== undefined &&
    writtenByOwner(before, after, writer)
  );
}

/** Whether a stored Task carries the `stay-left` tag its spec asks for (`withStayLeft`). */
export function hasStayLeft(task: Task): boolean {
  return hasTag(task, TAG_SYSTEM.stayLeft);
}

const STAY_LEFT_DISPLAY =
  'Vårdtillfället har lämnat ägaren: uppgiften finns kvar hos ägaren, men vårdtillfället och patienten visas inte längre för den';

/**
 * Whether a Task write is its owner's own: `writer` (the writing tenant's organisation, `writerOf`; undefined for the
 * gateway and admins) owns the Task before and after. A party's act through its Task (a receiver's rejection, the
 * unit's named care contact, the hospital's report of the information transfer) counts only so.
 */
export function writtenByOwner(before: Task | undefined, after: Task, writer: string | undefined): boolean {
  return writer !== undefined && before?.owner?.reference === writer && after.owner?.reference === writer;
}

const REASONS: ReadonlySet<string> = new Set(Object.keys(TASK_STATUS_REASON_INFO));

/**
 * The coded reason of a rejection: the first code of `svu-task-status-reason` (`TASK_STATUS_REASON_INFO`) in
 * `Task.statusReason`, if any. Only a rejection with one re-routes the stay (`rejectionFact`).
 */
export function rejectionReasonOf(task: Task): TaskStatusReason | undefined {
  const code = task.statusReason?.coding?.find((c) => c.code && REASONS.has(c.code))?.code;
  return code as TaskStatusReason | undefined;
}

/** The task key of a stored Task (`<stayId>|<key>` → `{stayId, key}`), if it has one. */
export function readTaskKey(task: Task): { stayId: string; key: string } | undefined {
  const v = task.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.taskKey)?.value;
  const at = v?.indexOf('|') ?? -1;
  if (!v || at < 0) return undefined;
  return { stayId: v.slice(0, at), key: v.slice(at + 1) };
}

/**
 * Whether a duty met by an act the gateway records (`isMetByRecordedAct`: a hospital's duty, `ansvar:` key, or the
 * named care contact's SIP invitation duty, `kallelse-sip@…`) with a deadline was closed by a status alone: `completed`
 * (a hospital's duty also `rejected`; the SIP invitation duty `rejected` without a coded reason, or by another than its
 * owner, `hasRejectedByAnother`) without the gateway's record of when it was met (`executionPeriod.end`: the send time
 * of the message that met it, the time of the hospital's report of the information transfer, or when the SIP
 * invitation was sent). Such a duty is not met: its deadline runs on (`taskRowOf`), the follow-up does not count it
 * met, and the stay's next apply gives it the engine's status again (`applyTaskSpec`, `planTasks`). No client can make
 * that write (`ownerTransitions`, `invitationRejectionRefusal`, `requesterChangeIssues`); this holds for every other
 * writer (an admin) too. The unit may reject its SIP invitation duty with a coded reason (`rejectionReasonOf`, which
 * re-routes the stay): that is its answer, not a status alone.
 */
export function dutyClosedByStatusAlone(task: Task): boolean {
  const key = readTaskKey(task)?.key;
  if (key === undefined || !isMetByRecordedAct(key)) return false;
  const byStatus = isDutyKey(key) || rejectionReasonOf(task) === undefined || hasRejectedByAnother(task);
  const rejected = task.status === 'rejected' && byStatus;
  const closed = task.status === 'completed' || rejected;
  return closed && task.restriction?.period?.end !== undefined && task.executionPeriod?.end === undefined;
}

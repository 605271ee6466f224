import type { TaskSpec } from './types';

const DUTY = 'ansvar:';

/** The key of the hospital's duty to send the receiver's Task `key`. */
export const dutyKeyOf = (key: string): string => `${DUTY}${key}`;

/** Whether a task key is a hospital's duty (`ansvar:<key of the receiver's Task>`), not a party's own Task. */
export const isDutyKey = (key: string): boolean => key.startsWith(DUTY);

const INFORMATION_TRANSFER_DUTY = dutyKeyOf('informationsoverforing@');

/**
 * Whether a task key is the hospital's duty to transfer the information to a unit (`ansvar:informationsoverforing@…`):
 * the one duty its owner reports met by completing it (readiness criterion 4, 001 §3), as over HL7 by the criterion.
 */
export const isInformationTransferDuty = (key: string): boolean => key.startsWith(INFORMATION_TRANSFER_DUTY);

/**
 * Whether a task key is the named care contact's duty to invite to the SIP (`kallelse-sip@<unit>`, derived by the
 * engine; the invitations an author's SIP sends each party carry no task key). The unit meets it by its invitation, a
 * SIP CarePlan of its own that invites the parties (the stay fact `sip-invitation-sent` by it, 001 §5.2.2), which the
 * gateway records: not by a status.
 */
export const isSipInvitationDutyKey = (key: string): boolean => key.startsWith('kallelse-sip@');

/**
 * Whether a task key is a duty its owner meets by an act the gateway records (`executionPeriod.end`), never by a
 * status alone: a hospital's duty (its message, or its report of the information transfer) and the named care
 * contact's duty to invite to the SIP (its invitation).
 */
export const isMetByRecordedAct = (key: string): boolean => isDutyKey(key) || isSipInvitationDutyKey(key);

/**
 * The unit an information transfer duty is towards: the party key of the receiver in its key
 * (`ansvar:informationsoverforing@primary-care:<hsa>#<round>` → `primary-care:<hsa>`, the recipient's `key`).
 * Undefined for any other key.
 */
export function informationTransferUnit(key: string): string | undefined {
  if (!isInformationTransferDuty(key)) return undefined;
  const unit = key.slice(INFORMATION_TRANSFER_DUTY.length).split('#', 1)[0];
  return unit || undefined;
}

/**
 * Ownership by duty (contract "Obligations, acknowledgements and answers"): each message the hospital must send
 * by a deadline is two Tasks. The receiver's Task (owner the receiver, `requested`) is met by its acknowledgement
 * and carries no deadline of its own; the hospital's duty is a Task `ansvar:<key of the receiver's Task>` owned
 * by the hospital, requested by the receiver (so a deviation goes to both principals), with the deadline, and
 * `completed` at the send time of the hospital's message (`metAt`): a late message is a late duty.
 */
export function hospitalDuties(tasks: TaskSpec[]): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const t of tasks) {
    // A duty whose deadline waits (its moment was withdrawn: `deadlineRule` without `due`) is still a duty.
    if (!t.responsible || (t.due === undefined && !t.deadlineRule) || t.code === 'makulering') continue;
    const key = dutyKeyOf(t.key);
    t.dutyKey = key;
    const duty: TaskSpec = {
      key,
      code: t.code,
      owner: t.responsible,
      requester: t.owner,
      authoredOn: t.authoredOn,
      status: t.metAt !== undefined ? 'completed' : t.status,
      responsible: t.responsible,
    };
    if (t.due !== undefined) duty.due = t.due;
    if (t.deadlineRule) duty.deadlineRule = t.deadlineRule;
    if (t.description) duty.description = t.description;
    if (t.metAt !== undefined) duty.metAt = t.metAt;
    out.push(duty);
  }
  return out;
}

/** Whether a duty met at `metAt` was met late (after `due`). */
export function metLate(spec: Pick<TaskSpec, 'due' | 'metAt'>): boolean {
  return spec.due !== undefined && spec.metAt !== undefined && Date.parse(spec.metAt) > Date.parse(spec.due);
}

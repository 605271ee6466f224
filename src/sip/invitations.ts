/**
 * The invitation to the SIP meeting (kallelse): one `kallelse-sip` Task per invited party, owned by it (it must
 * acknowledge "without delay"), requested by the plan's author, with the plan as focus. The text names the
 * organisations and the meeting, never a reference. Each has the agreement's acknowledgement deadline
 * (`sipPlan.acknowledgeWithin`), met when the party acknowledges (`invitationAcknowledged`). A party removed from the
 * plan gets its invitation cancelled; a party that took the plan over (ADR 045) gets its own cancelled with a text
 * saying so.
 */
import type { CarePlan, Organization, Reference, Task } from '@medplum/fhirtypes';
import type { Agreement } from '../core/agreements/agreement.schema';
import { CLOSED_TASK_STATUSES, SVU_TASK_CODE_INFO } from '../fhir/codes';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE } from '../fhir/constants';
import { businessStatusConcept } from '../fhir/task';
import { readSipMeeting } from '../fhir/careplan';
import { organizationIdOf } from '../fhir/references';
import type { WriteOptions } from '../store/repository.port';
import type { PgRepository } from '../store/repository.pg';
import { unknownOrganisation } from '../store/organisation-names.pg';
import { swedishMinute } from '../http/time-format';
import { invitationDeadline, invitationRuleText } from './invitation-deadline';
import { invitedParties } from './sip-plan';

/**
 * Times in the texts a person reads (the invitation, the printed plan) are Swedish time to the minute,
 * `2026-05-08 13:00` (`swedishMinute`, the admin console's formatter without seconds and offset), and the text says
 * this once (`SWEDISH_TIME`, the core's, as a Task's estimated discharge says it).
 */
import { SWEDISH_TIME } from '../core/calendar/stockholm-time';

export { SWEDISH_TIME };

/** The meeting place in Swedish (`home` → i bostaden, `ward` → på avdelningen, else as written). */
export function placeText(place: string | undefined): string | undefined {
  if (!place) return undefined;
  if (place === 'home') return 'i bostaden';
  if (place === 'ward') return 'på avdelningen';
  return place;
}

/** The directory's name of the organisation `Organization/<id>`; undefined when the directory has none. */
export async function directoryName(repo: PgRepository, ref: string): Promise<string | undefined> {
  if (!ref.startsWith('Organization/')) return undefined;
  try {
    const org = await repo.read<Organization>('Organization', organizationIdOf(ref));
    return org.name || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The organisation's name for texts a person reads; one the directory has no name for is said to be unknown, with
 * its reference (`okänd organisation (Organization/x)`, as the admin console and the case overview say it).
 */
export async function orgName(repo: PgRepository, ref: string): Promise<string> {
  return (await directoryName(repo, ref)) ?? unknownOrganisation(ref);
}

/** A reference to the organisation with its directory name as display (no display when the directory has none). */
export async function orgReference(repo: PgRepository, ref: string): Promise<Reference<Organization>> {
  const name = await directoryName(repo, ref);
  return name ? { reference: ref, display: name } : { reference: ref };
}

export function invitationText(author: string, plan: CarePlan): string {
  const m = readSipMeeting(plan);
  const when = swedishMinute(m.start);
  const where = placeText(m.place);
  const meeting = [when ? `den ${when} ${SWEDISH_TIME}` : 'tid meddelas senare', where].filter(Boolean).join(' ');
  return `Kallelse till SIP-möte ${meeting}, från ${author}. Kvittera kallelsen utan dröjsmål och skriv er del av planen.`;
}

/**
 * The `kallelse-sip` Task of one invited party (pure): owned by it, requested by the plan's author, the plan as
 * focus, the meeting in the text and the agreement's acknowledgement deadline. `owner` and `author` carry the
 * organisations' names as display.
 */
export function invitationTask(
  plan: CarePlan,
  owner: Reference<Organization>,
  author: Reference<Organization>,
  now: string,
  agreement: Agreement,
): Task {
  const orgId = organizationIdOf(owner.reference ?? '');
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.sipInvitation, value: `${plan.id ?? ''}|${orgId}` }],
    status: 'requested',
    intent: 'order',
    code: {
      coding: [{ system: CODE_SYSTEM.task, code: 'kallelse-sip', display: SVU_TASK_CODE_INFO['kallelse-sip'].display }],
      text: SVU_TASK_CODE_INFO['kallelse-sip'].display,
    },
    description: invitationText(author.display ?? unknownOrganisation(author.reference ?? ''), plan),
    focus: { reference: `CarePlan/${plan.id ?? ''}` },
    encounter: plan.encounter,
    authoredOn: now,
    requester: author,
    owner,
    // Acknowledge "without delay" (003 step 3): a deadline on the ladder, met by the acknowledgement.
    restriction: { period: { end: invitationDeadline(now, agreement.sipPlan?.acknowledgeWithin) } },
    businessStatus: businessStatusConcept('on-time'),
    extension: [{ url: EXTENSION.deadlineRule, valueString: invitationRuleText(agreement) }],
  };
  if (plan.subject?.reference?.startsWith('Patient/')) task.for = { reference: plan.subject.reference };
  return task;
}

/** Creates the missing invitations and cancels those of parties no longer invited. Returns the Tasks written. */
export async function syncInvitations(
  repo: PgRepository,
  plan: CarePlan,
  now: string,
  write: WriteOptions,
  agreement: Agreement,
): Promise<Task[]> {
  const id = plan.id ?? '';
  const found = await repo.search<Task>('Task', { focus: `CarePlan/${id}`, code: `${CODE_SYSTEM.task}|kallelse-sip` });
  const existing = new Map<string, Task>();
  for (const t of found.resources) {
    const v = t.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.sipInvitation)?.value;
    if (v) existing.set(v.slice(v.indexOf('|') + 1), t);
  }
  const invited = invitedParties(plan);
  const author = plan.author?.reference ?? '';
  const authorRef = await orgReference(repo, author);
  const out: Task[] = [];
  for (const party of invited) {
    if (existing.has(organizationIdOf(party))) continue;
    const owner = await orgReference(repo, party);
    out.push(await repo.create(invitationTask(plan, owner, authorRef, now, agreement), write));
  }
  for (const [orgId, t] of existing) {
    if (invited.includes(`Organization/${orgId}`)) {
      // After a take-over (ADR 045) the plan's new author calls to it: an invitation that still stands becomes its,
      // so it follows the parties' answers and the unit the plan left no longer acts on them
      if (author !== '' && !CLOSED_TASK_STATUSES.has(t.status) && t.requester?.reference !== author)
        out.push(
          await repo.update<Task>(
            { ...t, requester: authorRef, description: invitationText(authorRef.display ?? author, plan) },
            write,
          ),
        );
      continue;
    }
    if (['cancelled', 'completed'].includes(t.status)) continue;
    const reason =
      `Organization/${orgId}` === author
        ? await tookOverText(repo, author, t.requester?.reference)
        : 'Parten är inte längre kallad';
    out.push(await repo.update({ ...t, status: 'cancelled', statusReason: { text: reason } }, write));
  }
  return out;
}

/**
 * Why the invitation of a party that became the plan's author is cancelled: it took the plan over (ADR 045) and now
 * calls to the meeting itself, so the invitation it got from the earlier author no longer asks anything of it. By the
 * organisations' names, for the unit's staff who find the cancelled invitation among their Tasks.
 */
async function tookOverText(repo: PgRepository, author: string, inviter: string | undefined): Promise<string> {
  const now = await orgName(repo, author);
  const from = inviter && inviter !== author ? ` från ${await orgName(repo, inviter)}` : '';
  return `${now} har tagit över SIP:en${from} och är nu fast vårdkontakt och planens ägare; kallelsen behövs inte längre, eftersom ${now} nu själv kallar till SIP-mötet.`;
}

/** Statuses by which an invited party has acknowledged its invitation. */
const ACKNOWLEDGED = new Set(['received', 'accepted', 'in-progress', 'completed']);

/** Is this Task a SIP invitation (made by `syncInvitations`)? */
export const isSipInvitation = (t: Task): boolean =>
  (t.identifier ?? []).some((i) => i.system === IDENTIFIER_SYSTEM.sipInvitation);

/**
 * The invitation once its party acknowledged it: the acknowledgement meets the deadline (`executionPeriod.end` =
 * when, `businessStatus` on time or late, for good), so the ladder stops; undefined when nothing is to record.
 */
export function invitationAcknowledged(before: Task, after: Task, now: string): Task | undefined {
  if (!isSipInvitation(after) || ACKNOWLEDGED.has(before.status) || !ACKNOWLEDGED.has(after.status)) return undefined;
  const due = after.restriction?.period?.end;
  if (!due || after.executionPeriod?.end) return undefined;
  const late = Date.parse(now) > Date.parse(due);
  return {
    ...after,
    executionPeriod: { ...after.executionPeriod, end: now },
    businessStatus: businessStatusConcept(late ? 'overdue' : 'on-time'),
  };
}

/**
 * A party that signs its part of the plan has the invitation in hand: its open invitation is acknowledged by the
 * signature (`accepted`, the reason in words naming the party), so the acknowledgement deadline does not escalate
 * against a party that already signed. Returns the Task written, or undefined when the party had none open.
 */
export async function acknowledgedBySigning(
  repo: PgRepository,
  plan: CarePlan,
  party: string,
  now: string,
  write: WriteOptions,
): Promise<Task | undefined> {
  const found = await repo.search<Task>('Task', {
    focus: `CarePlan/${plan.id ?? ''}`,
    code: `${CODE_SYSTEM.task}|kallelse-sip`,
    owner: party,
  });
  const open = found.resources.find((t) => isSipInvitation(t) && t.status === 'requested');
  if (!open) return undefined;
  const after: Task = {
    ...open,
    status: 'accepted',
    statusReason: { text: `Kvitterad när ${await orgName(repo, party)} signerade sin del av SIP:en` },
  };
  return repo.update(invitationAcknowledged(open, after, now) ?? after, write);
}

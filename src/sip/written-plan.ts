/**
 * After the SIP meeting the named care contact sends the written plan to the person (003 step 5, "Skicka SIP till
 * patient och ev. närstående"). The seeds give no time for it; the lead's issue 14 asks for 3 days, counted here as
 * 72 hours from the meeting. One Task per plan, owned by the plan's author, completed by it when sent.
 */
import type { CarePlan, Organization, Reference, Task } from '@medplum/fhirtypes';
import { SVU_TASK_CODE_INFO } from '../fhir/codes';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM, PROFILE } from '../fhir/constants';
import type { PgRepository } from '../store/repository.pg';
import type { WriteOptions } from '../store/repository.port';
import { orgReference } from './invitations';

export const WRITTEN_PLAN_WITHIN_MS = 3 * 24 * 3600_000;

export async function ensureWrittenPlanTask(
  repo: PgRepository,
  plan: CarePlan,
  meetingAt: string,
  write: WriteOptions,
): Promise<Task> {
  const id = plan.id ?? '';
  const found = await repo.search<Task>('Task', { identifier: `${IDENTIFIER_SYSTEM.sipWrittenPlan}|${id}` });
  const due = new Date(Date.parse(meetingAt) + WRITTEN_PLAN_WITHIN_MS).toISOString();
  const existing = found.resources[0];
  if (existing) {
    if (existing.status === 'completed' || existing.restriction?.period?.end === due) return existing;
    return repo.update({ ...existing, restriction: { period: { end: due } } }, write);
  }
  const author = plan.author?.reference ?? '';
  const owner = await orgReference(repo, author);
  return repo.create(writtenPlanTask(plan, owner, meetingAt), write);
}

/** The `sip-skriftlig-plan` Task of a plan (pure): owned by the plan's author (`owner`), due 3 days after the meeting. */
export function writtenPlanTask(plan: CarePlan, owner: Reference<Organization>, meetingAt: string): Task {
  const id = plan.id ?? '';
  const due = new Date(Date.parse(meetingAt) + WRITTEN_PLAN_WITHIN_MS).toISOString();
  const info = SVU_TASK_CODE_INFO['sip-skriftlig-plan'];
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.sipWrittenPlan, value: id }],
    status: 'requested',
    intent: 'order',
    code: {
      coding: [{ system: CODE_SYSTEM.task, code: 'sip-skriftlig-plan', display: info.display }],
      text: info.display,
    },
    description:
      'Skicka den skriftliga planen (SIP) till personen, och till närstående om personen vill, inom 3 dagar efter mötet',
    focus: { reference: `CarePlan/${id}` },
    encounter: plan.encounter,
    authoredOn: meetingAt,
    requester: owner,
    owner,
    restriction: { period: { end: due } },
  };
  if (plan.subject?.reference?.startsWith('Patient/')) task.for = { reference: plan.subject.reference };
  return task;
}

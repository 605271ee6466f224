import type { Organization, Reference, Task } from '@medplum/fhirtypes';
import type { FhirRepository } from '../store/repository.port';
import { CANONICAL_BASE, CODE_SYSTEM } from '../fhir/constants';
import { businessStatusConcept } from '../fhir/task';
import { swedishTime } from '../http/time-format';
import { raiseStatus, STATUS_OF_KIND, type StepKind, type StepRecipient } from './ladder';
import type { StepRow } from './deadline-store.pg';
import { unknownOrganisation } from '../store/organisation-names.pg';
import { citeDeadlineRule } from './rule-citation';

/** Identifier of a deviation Task: `<taskId>/<stepId>/<organisation>`, unique per step and principal. */
export const DEADLINE_STEP_ID_SYSTEM = `${CANONICAL_BASE}/sid/deadline-step`;

const SV: Record<StepKind, string> = {
  reminder: 'Påminnelse: tidsfristen närmar sig',
  overdue: 'Tidsfristen har passerat',
  escalation: 'Eskalering till verksamhetschef: tidsfristen har passerat',
  deviation: 'Avvikelse: ansvar enligt överenskommelsen har inte fullgjorts',
};

export interface StepOutcome {
  businessStatus: string;
  taskVersion?: string;
  written: string[];
  recipients: string[];
  /** The party whose duty it was when the step fired (the deviation's responsible party in the follow-up). */
  responsible?: string;
}

/** The organisation that must meet the deadline: the Task's owner. */
export function responsibleOf(task: Task): string | undefined {
  return task.owner?.reference;
}

/** The owner's head of unit: the parent organisation (`Organization.partOf`) when known, else the owner itself. */
async function headOf(repo: FhirRepository, org: string): Promise<string> {
  const [type, id] = org.split('/');
  if (type !== 'Organization' || !id) return org;
  try {
    const o = await repo.read<Organization>('Organization', id);
    return o.partOf?.reference ?? org;
  } catch {
    return org;
  }
}

/**
 * Region and municipality: the distinct organisations on either side of the Task (owner and requester) and the
 * agreement's principals the gateway put in `restriction.recipient` (the stay's hospital and municipality).
 */
function principals(task: Task): string[] {
  const all = [task.owner, task.requester, ...(task.restriction?.recipient ?? [])].map((r) => r?.reference);
  return [...new Set(all.filter((r): r is string => !!r))];
}

async function recipientsOf(repo: FhirRepository, task: Task, to: StepRecipient): Promise<string[]> {
  const owner = responsibleOf(task);
  switch (to) {
    case 'owner':
      return owner ? [owner] : [];
    case 'owner-head-of-unit':
      return owner ? [await headOf(repo, owner)] : [];
    case 'requester':
      return task.requester?.reference ? [task.requester.reference] : [];
    case 'both-principals':
      return principals(task);
  }
}

const ref = (r: string, display?: string): Reference<Organization> => ({
  reference: r,
  ...(display ? { display } : {}),
});

/** What a person reads: the organisation's name (e.g. "Västerås stad"), never `Organization/<id>`. */
async function nameOf(repo: FhirRepository, org: string | undefined, fallback?: Reference): Promise<string> {
  const [type, id] = (org ?? '').split('/');
  if (type === 'Organization' && id) {
    try {
      const o = await repo.read<Organization>('Organization', id);
      if (o.name) return o.name;
    } catch {
      // fall through to the identifier
    }
  }
  const ident = fallback?.identifier?.value;
  return fallback?.display ?? (ident ? `organisation ${ident}` : unknownOrganisation(org ?? fallback?.reference));
}

/**
 * A deadline as a person reads it in a note or a deviation: Swedish time with its offset, as the admin console shows
 * the same instant (`2026-01-16 10:30:00 +01:00`, src/http/time-format.ts); a deviation is measured against it, so
 * it is never ambiguous, not even in the hour the clocks go back.
 */
function deadlineText(isoText: string | undefined): string {
  return swedishTime(isoText) ?? 'okänd tidsfrist';
}

/**
 * The rule behind a deadline as a person reads it (src/deadlines/rule-citation.ts), or nothing. Without a citation
 * function (no agreement at hand), the same reader names the document as the Task writes it.
 */
function ruleText(task: Task, cite: RuleCitation | undefined): string {
  const rule = cite ? cite(task) : citeDeadlineRule(task, undefined);
  return rule ? ` enligt ${rule}` : '';
}

/** Names the rule behind a Task's deadline in its agreement's words (`citeDeadlineRule`). */
export type RuleCitation = (task: Task) => string | undefined;

/**
 * Writes what one fired step means, through the repository, so every write gets its outbox row in the same
 * transaction and the normal subscriptions deliver it (docs/adr/021-deadline-notices-as-resources.md):
 * - every step raises the Task's `businessStatus` (due-soon → overdue → escalated, never lowered); the owner's
 *   `Task?owner=` subscription delivers that update: it is the reminder and the overdue notice;
 * - a step addressed to anyone but the owner (the escalation to the head of unit) also adds a `Task.note`
 *   naming the recipient and the reason, in the same update;
 * - a deviation adds one `avvikelse` Task per principal (owner and requester), each owned by that principal.
 */
export async function writeStepEffects(
  repo: FhirRepository,
  task: Task,
  step: StepRow,
  description: string | undefined,
  now: Date,
  cite?: RuleCitation,
): Promise<StepOutcome> {
  const text = description ?? SV[step.kind];
  const status = raiseStatus(task.businessStatus?.coding?.[0]?.code, STATUS_OF_KIND[step.kind]);
  const recipients = await recipientsOf(repo, task, step.recipient);
  const names = await Promise.all(recipients.map((r) => nameOf(repo, r)));
  const responsibleName = await nameOf(repo, responsibleOf(task), task.owner);
  const written: string[] = [];
  const next: Task = { ...task, businessStatus: businessStatusConcept(status) };
  const addNote = step.kind !== 'deviation' && step.recipient !== 'owner';
  if (addNote) {
    next.note = [
      ...(task.note ?? []),
      {
        time: now.toISOString(),
        text: `${text}: ${responsibleName} ska ha fullgjort uppgiften senast ${deadlineText(task.restriction?.period?.end)}${ruleText(task, cite)}. Meddelat: ${names.join(', ') || 'okänd mottagare'}.`,
      },
    ];
  }
  let updated = task;
  if (addNote || task.businessStatus?.coding?.[0]?.code !== status) {
    updated = await repo.update<Task>(next, { ifMatch: task.meta?.versionId });
    written.push(`Task/${task.id}/_history/${updated.meta?.versionId ?? ''}`);
  }
  if (step.kind === 'deviation') {
    const stepKey = `${task.id}/${step.stepId}`;
    const missed = task.code?.text ?? task.code?.coding?.[0]?.display ?? task.code?.coding?.[0]?.code ?? 'uppgift';
    for (const [i, org] of recipients.entries()) {
      const responsible = responsibleOf(task);
      const deviation: Task = {
        resourceType: 'Task',
        identifier: [{ system: DEADLINE_STEP_ID_SYSTEM, value: `${stepKey}/${org}` }],
        status: 'requested',
        intent: 'order',
        code: { coding: [{ system: CODE_SYSTEM.task, code: 'avvikelse', display: 'Avvikelse' }], text: 'Avvikelse' },
        description: `${text}: ${missed}, tidsfrist ${deadlineText(task.restriction?.period?.end)}${ruleText(task, cite)}; ansvarig ${responsibleName}; meddelat: ${names.join(', ')}`,
        focus: { reference: `Task/${task.id}` },
        ...(task.for ? { for: task.for } : {}),
        ...(task.encounter ? { encounter: task.encounter } : {}),
        ...(responsible ? { requester: ref(responsible, responsibleName) } : {}),
        owner: ref(org, names[i]),
        authoredOn: now.toISOString(),
      };
      const { resource } = await repo.conditionalCreate<Task>(
        deviation,
        `identifier=${encodeURIComponent(`${DEADLINE_STEP_ID_SYSTEM}|${stepKey}/${org}`)}`,
        { authorOrganization: org },
      );
      written.push(`Task/${resource.id}`);
    }
  }
  const responsible = responsibleOf(task);
  return {
    businessStatus: status,
    taskVersion: updated.meta?.versionId,
    written,
    recipients,
    ...(responsible ? { responsible } : {}),
  };
}

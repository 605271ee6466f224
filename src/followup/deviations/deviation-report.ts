/**
 * A deviation reported by a person (avvikelsehantering i samverkan, seed 001 §5.3, 003): a party of a stay says
 * another party did not meet its duty. Pure: parses the operation's Parameters and builds the `avvikelse` Tasks.
 *
 * - The responsible party gets a Task it owns and answers (note + status `completed`, as any owner may).
 * - A serious one (`allvarlig`) also reaches every other party of the stay at once — so both principals, the
 *   region's units and the municipality — each through a copy it owns, which its `Task?owner=` Subscription
 *   delivers; a minor one goes to the responsible party, and the reporter keeps a copy to follow it.
 * - All copies share `groupIdentifier` (one report), so indicators count the report once.
 * - As for the engine's automatic deviations, `requester` is the responsible party and `focus` the missed Task
 *   (or the Encounter when none was named); the kind is `reasonCode` (the duty's Task code, or `annan`).
 */
import type { Parameters, Reference, Task } from '@medplum/fhirtypes';
import { SVU_TASK_CODE_INFO } from '../../fhir/codes';
import { CANONICAL_BASE, CODE_SYSTEM } from '../../fhir/constants';
import { ORGANIZATION_REFERENCE } from '../../fhir/references';
import { GatewayError } from '../../platform/errors';

export const DEVIATION_REPORT_SYSTEM = `${CANONICAL_BASE}/deviation-report`;
export const DEVIATION_SEVERITIES = ['allvarlig', 'ovrig'] as const;
export type DeviationSeverity = (typeof DEVIATION_SEVERITIES)[number];
const OTHER_KIND = 'annan';

export interface DeviationInput {
  responsible: string;
  kind: string;
  severity: DeviationSeverity;
  description: string;
  focus?: string;
}

function param(body: Parameters, name: string) {
  return body.parameter?.find((p) => p.name === name);
}

/** The operation's input, or a 400/422 saying what to fix. */
export function parseDeviationParameters(body: unknown): DeviationInput {
  const p = body as Parameters | undefined;
  if (p?.resourceType !== 'Parameters') {
    throw new GatewayError(
      'bad-request',
      'The body is a Parameters resource with responsible, kind, severity, description',
    );
  }
  const responsible = param(p, 'responsible')?.valueReference?.reference ?? '';
  if (!ORGANIZATION_REFERENCE.test(responsible)) {
    throw new GatewayError(
      'bad-request',
      'responsible (valueReference Organization/<id>) is required: the party whose duty was not met',
    );
  }
  const kind = param(p, 'kind')?.valueCode ?? param(p, 'kind')?.valueCoding?.code ?? '';
  const kinds = [...Object.keys(SVU_TASK_CODE_INFO).filter((k) => k !== 'avvikelse'), OTHER_KIND];
  if (!kinds.includes(kind)) {
    throw new GatewayError(
      'rule-violation',
      `kind (valueCode) is the duty that was not met: one of ${kinds.join(', ')}`,
    );
  }
  const severity = param(p, 'severity')?.valueCode ?? '';
  if (!(DEVIATION_SEVERITIES as readonly string[]).includes(severity)) {
    throw new GatewayError('rule-violation', `severity (valueCode) is one of ${DEVIATION_SEVERITIES.join(', ')}`);
  }
  const description = (param(p, 'description')?.valueString ?? '').trim();
  if (!description) throw new GatewayError('bad-request', 'description (valueString) says what happened');
  const focus = param(p, 'focus')?.valueReference?.reference;
  const out: DeviationInput = { responsible, kind, severity: severity as DeviationSeverity, description };
  if (focus) out.focus = focus;
  return out;
}

export interface DeviationContext {
  reportId: string;
  reporter: string;
  encounter: string;
  patient?: Reference;
  /** Every party of the stay (`Organization/<id>`). */
  parties: ReadonlySet<string>;
  name: (org: string) => string;
  now: Date;
}

/** Who gets a copy: the responsible party first, then the reporter, then (serious) every other party. */
export function recipientsOf(input: DeviationInput, ctx: DeviationContext): string[] {
  const out = [input.responsible, ctx.reporter];
  if (input.severity === 'allvarlig') out.push(...[...ctx.parties].sort());
  return [...new Set(out)];
}

export function deviationTasks(input: DeviationInput, ctx: DeviationContext): Task[] {
  const kindText =
    input.kind === OTHER_KIND
      ? 'annan skyldighet'
      : ((SVU_TASK_CODE_INFO as Record<string, { display: string }>)[input.kind]?.display ?? input.kind);
  const serious = input.severity === 'allvarlig';
  const text =
    `${serious ? 'Allvarlig avvikelse' : 'Avvikelse'} rapporterad av ${ctx.name(ctx.reporter)} mot ` +
    `${ctx.name(input.responsible)} (${kindText}): ${input.description}`;
  return recipientsOf(input, ctx).map((org) => ({
    resourceType: 'Task',
    identifier: [{ system: DEVIATION_REPORT_SYSTEM, value: `${ctx.reportId}/${org}` }],
    groupIdentifier: { system: DEVIATION_REPORT_SYSTEM, value: ctx.reportId },
    status: 'requested',
    intent: org === input.responsible ? 'order' : 'proposal',
    priority: serious ? 'urgent' : 'routine',
    code: { coding: [{ system: CODE_SYSTEM.task, code: 'avvikelse', display: 'Avvikelse' }], text: 'Avvikelse' },
    reasonCode: { coding: [{ system: CODE_SYSTEM.task, code: input.kind }], text: kindText },
    description: org === input.responsible ? `${text}. Besvara avvikelsen.` : text,
    focus: { reference: input.focus ?? ctx.encounter },
    ...(ctx.patient ? { for: ctx.patient } : {}),
    encounter: { reference: ctx.encounter },
    requester: { reference: input.responsible, display: ctx.name(input.responsible) },
    owner: { reference: org, display: ctx.name(org) },
    authoredOn: ctx.now.toISOString(),
    note: [{ authorReference: { reference: ctx.reporter }, time: ctx.now.toISOString(), text: input.description }],
  }));
}
